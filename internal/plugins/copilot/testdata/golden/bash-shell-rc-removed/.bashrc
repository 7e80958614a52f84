# ~/.bashrc
export PATH="$HOME/bin:$PATH"
alias ll='ls -l'
[ -f ~/.fzf.bash ] && source ~/.fzf.bash