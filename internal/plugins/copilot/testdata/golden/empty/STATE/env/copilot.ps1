# Written by coda for GitHub Copilot CLI (profile default, through the workspace); coda setup copilot rewrites it.
# No token here: Copilot runs the key command before every request. coda setup --remove copilot deletes this file.
$Env:COPILOT_PROVIDER_TYPE = 'openai'
$Env:COPILOT_PROVIDER_BASE_URL = 'https://example.cloud.databricks.com/serving-endpoints'
$Env:COPILOT_MODEL = 'databricks-claude-sonnet-4-6'
$Env:COPILOT_PROVIDER_API_KEY_COMMAND = '/usr/local/bin/coda token -p default'
$Env:COPILOT_PROVIDER_BEARER_TOKEN = ''
