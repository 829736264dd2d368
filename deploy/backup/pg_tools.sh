# Sourced by backup.sh and restore.sh: pg_tools URL prints the folder whose pg_dump and
# pg_restore to run against that server ("" for the ones on PATH). PG_BIN wins when set. Else
# PATH's, unless the server is a newer PostgreSQL than they are (pg_dump refuses to dump a newer
# server): then the ones the pgserver wheel ships, as the embedded default (`make run` with no
# PAYCORE_DATABASE_URLS) runs its PostgreSQL 16 on machines whose client is older.
pg_tools() {
    if [[ -n ${PG_BIN:-} ]]; then
        echo "$PG_BIN"
        return
    fi
    local server client python wheel
    server=$(psql -XAtqc 'SHOW server_version_num' "$1" 2>/dev/null) || server=0
    client=$(pg_dump --version 2>/dev/null | grep -oE '[0-9]+' | head -n 1) || client=0
    if (( ${server:-0} / 10000 <= ${client:-0} )); then
        echo ""
        return
    fi
    python="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.venv/bin/python"
    [[ -x $python ]] || python=python3
    # Found, not imported (pgserver warns on import).
    wheel=$("$python" -c 'import importlib.util, pathlib
spec = importlib.util.find_spec("pgserver")
print(pathlib.Path(spec.origin).parent / "pginstall" / "bin" if spec and spec.origin else "")' 2>/dev/null) || wheel=""
    if [[ -n $wheel && -x $wheel/pg_dump ]]; then
        echo "$wheel"
    else
        echo ""  # PATH's: pg_dump then names the version mismatch; set PG_BIN
    fi
}
