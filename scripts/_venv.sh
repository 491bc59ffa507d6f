# Sourced by the scripts: create or update .venv with the given extras when pyproject.toml changes.
# usage: ensure_venv EXTRAS   (e.g. "" or "postgres,s3,dev")
ensure_venv() {
    extras="$1"
    root=$(cd "$(dirname "$0")/.." && pwd)
    venv="$root/.venv"
    py="${PYTHON:-python3}"
    if [ ! -x "$venv/bin/python" ]; then
        echo "creating the virtual environment in .venv ..." >&2
        "$py" -m venv "$venv"
        "$venv/bin/python" -m pip install -q --upgrade pip >&2
    fi
    stamp="$venv/.installed-${extras:-base}"
    if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
        echo "installing mediashelf${extras:+[$extras]} into .venv ..." >&2
        target="$root"
        [ -n "$extras" ] && target="$root[$extras]"
        "$venv/bin/python" -m pip install -q -e "$target" >&2
        touch "$stamp"
    fi
    PATH="$venv/bin:$PATH"
    export PATH
}
