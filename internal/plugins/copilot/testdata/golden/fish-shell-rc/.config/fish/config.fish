set -gx EDITOR vim
fish_add_path ~/bin

# >>> coda copilot >>>
# Written by coda setup --shell-rc: loads GitHub Copilot CLI's settings for the Databricks workspace.
# coda setup copilot --shell-rc=false (or coda setup --remove copilot) takes this block out.
if test -f '$STATE/env/copilot.fish'; source '$STATE/env/copilot.fish'; end
# <<< coda copilot <<<
