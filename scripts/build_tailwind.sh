#!/usr/bin/env bash
# Rebuild app/static/hotcrm-tailwind.css: the Tailwind utilities our pages use, compiled
# ahead of time instead of by NiceGUI's in-browser Tailwind runtime, which compiled them
# on every page load (~180 ms of a list page's 540 ms on this machine; see
# docs/decisions.md). Run after adding a Tailwind class; needs Node and npm. The version is
# the one NiceGUI's runtime ships, so the output matches what the runtime produced.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
nicegui=$("$PY" -c 'import nicegui, pathlib; print(pathlib.Path(nicegui.__file__).parent)')
tools=.cache/tailwind  # the CLI and the input it resolves `tailwindcss` from (git-ignored)
[ -x "$tools/node_modules/.bin/tailwindcss" ] || \
  npm install --silent --prefix "$tools" @tailwindcss/cli@4.1.13 tailwindcss@4.1.13
input=$tools/input.css
cat > "$input" <<CSS
@import "tailwindcss" source(none);
@source "$PWD/pages";
@source "$PWD/components";
@source "$PWD/app";
@source "$PWD/metadata";
@source "$nicegui";
@custom-variant dark (&:where(body.body--dark, body.body--dark *));
CSS
"$tools/node_modules/.bin/tailwindcss" -i "$input" -o app/static/hotcrm-tailwind.css --minify
