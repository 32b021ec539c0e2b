// Renders a template as Argo CD's notifications-engine does: Go's text/template without a
// missingkey option (a missing map key prints "<no value>"), over the Application as the
// unstructured map the controller's informer holds, under the variable names the engine provides.
//
// Usage: render-template <template file> <application json file>
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/template"
)

func main() {
	source, err := os.ReadFile(os.Args[1])
	exitOn(err)
	document, err := os.ReadFile(os.Args[2])
	exitOn(err)
	var app map[string]interface{}
	exitOn(json.Unmarshal(document, &app))
	tmpl, err := template.New("body").Parse(string(source))
	exitOn(err)
	vars := map[string]interface{}{
		"app":     app,
		"context": map[string]interface{}{"argocdUrl": "https://argocd.example.com", "notificationType": "webhook"},
	}
	exitOn(tmpl.Execute(os.Stdout, vars))
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
