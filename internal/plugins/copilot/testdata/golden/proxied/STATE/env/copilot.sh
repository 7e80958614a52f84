# Written by coda for GitHub Copilot CLI (profile default, through coda's proxy); coda setup copilot rewrites it.
# No token here: Copilot runs the key command before every request. coda setup --remove copilot deletes this file.
export COPILOT_PROVIDER_TYPE='openai'
export COPILOT_PROVIDER_BASE_URL='http://127.0.0.1:8123/serving-endpoints'
export COPILOT_MODEL='databricks-claude-sonnet-4-6'
export COPILOT_PROVIDER_API_KEY_COMMAND='/usr/local/bin/coda proxy key -p default'
export COPILOT_PROVIDER_BEARER_TOKEN=''
