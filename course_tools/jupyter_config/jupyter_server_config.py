# Read by the Jupyter server that `make notebook` starts (JUPYTER_CONFIG_PATH names this folder; the user's
# own Jupyter configuration is still read too).
#
# Jupyter Notebook 7 opens a link to a file that is not a notebook, such as a glossary link
# (glossary.md#term), as the raw file in a new browser tab. The server sends Markdown as "text/markdown" with
# no character set, so the browser shows the glossary's Chinese as garbage. Naming UTF-8 makes it readable.
import mimetypes

mimetypes.add_type("text/markdown; charset=UTF-8", ".md")
