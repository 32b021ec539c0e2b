import { Argument, type Command } from 'commander';
import type { TargetList } from '../api-types';
import type { Cli } from '../cli-context';
import { localGrantIds } from '../local-state';

/** Commands whose first argument is a grant: completed from the grants requested on this machine. */
function takesGrant(command: Command): boolean {
  return command.registeredArguments[0]?.name() === 'grant';
}

function optionsOf(command: Command): string {
  return command.options.flatMap((option) => [option.long, option.short].filter((flag): flag is string => Boolean(flag))).join(' ');
}

/**
 * The bash completion function, generated from the commands themselves (so it never lists a
 * command that is gone). Targets come from the broker (`__complete targets`), grants from this
 * machine's grant records (`__complete grants`), both through the same `breakglass` the user runs.
 */
function bashScript(program: Command): string {
  const visible = program.commands.filter((command) => !command.name().startsWith('__'));
  const optionCases = visible
    .filter((command) => command.options.length)
    .map((command) => `    ${command.name()}) opts="${optionsOf(command)}" ;;`)
    .join('\n');
  const grantCommands = visible
    .filter(takesGrant)
    .map((command) => command.name())
    .join('|');
  return `# breakglass completion (bash): source <(breakglass completion bash), or save it in
# /etc/bash_completion.d/breakglass
_breakglass() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd="" opts="" position=0 i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=\${COMP_WORDS[i]}; else position=$((position + 1)); fi ;;
    esac
  done
  if [[ $prev == --target ]]; then
    COMPREPLY=($(compgen -W "$("\${COMP_WORDS[0]}" __complete targets 2>/dev/null)" -- "$cur"))
    return
  fi
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "${visible.map((command) => command.name()).join(' ')} ${optionsOf(program)}" -- "$cur"))
    return
  fi
  case $cmd in
${optionCases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ $position == 0 ]]; then
    case $cmd in
      ${grantCommands}) COMPREPLY=($(compgen -W "$("\${COMP_WORDS[0]}" __complete grants 2>/dev/null)" -- "$cur")) ;;
    esac
  fi
}
complete -F _breakglass breakglass
`;
}

/** zsh runs the same function through its bash completion layer (bashcompinit). */
function zshScript(program: Command): string {
  return `#compdef breakglass
# breakglass completion (zsh): source <(breakglass completion zsh), or save it as _breakglass on $fpath
autoload -U +X compinit && { (( $+functions[compdef] )) || compinit -u; }
autoload -U +X bashcompinit && bashcompinit
${bashScript(program).split('\n').slice(2).join('\n')}`;
}

/** completion bash|zsh, and the hidden `__complete` the scripts call for targets and grants. */
export function registerCompletionCommands(cli: Cli): void {
  const { program, client } = cli;
  program
    .command('completion')
    .description('print the shell completion script: source <(breakglass completion bash)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => {
      process.stdout.write(shell === 'bash' ? bashScript(program) : zshScript(program));
    });

  program
    .command('__complete <what>', { hidden: true })
    .description('names for shell completion: targets (from the broker) or grants (requested on this machine)')
    .action(async (what: string) => {
      if (what === 'targets') {
        const { targets } = await client().get<TargetList>('v1/targets');
        return console.log(targets.map((target) => target.name).join('\n'));
      }
      if (what === 'grants') return console.log(localGrantIds().join('\n'));
    });
}
