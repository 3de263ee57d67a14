#!/usr/bin/env bash
# Verify gatewatch alert chains without gatewatch: jq, a JCS (RFC 8785) canonicaliser, and
# sha256sum or openssl. docs/alert-chain.md says what is hashed; this is that, step by step.
#
#   verify-chain.sh [--key FILE] [--] LOG...
#
# LOG is a folder of alert files (alerts-<vehicle>-<12-digit seq>.jsonl, one chain per
# vehicle, with its head alerts-<vehicle>.head when there is one), or one alert file checked
# on its own (no head).
# Per record: its hash over the canonical form its chain.canon names (JCS; absent: the old
# Python form), chain.alg as the key says (--key: hmac-sha256, else the head's alg, else
# sha256), seq one more than the record before, prev that record's hash, no move back from
# JCS; then the head's seal and the record it names. Stricter than `gatewatch alerts verify`:
# a line cut off by a crash is a failure here, and the oldest files removed by retention are
# only a note. Prints one line per problem (file:line: kind: detail) and one per chain; exit 0
# when every chain holds, 1 when one does not (a chain of no records, or a folder with no alert
# files, does not), 2 on a usage error. Any file name will do: in what it prints, a backslash,
# newline, tab or carriage return in a name is written \\, \n, \t, \r.
#
# JCS is the canonicaliser, a command that reads JSON values one per line and writes each in
# JCS on a line; any RFC 8785 implementation will do. The default uses Python's rfc8785
# package; docs/alert-chain.md shows one in node. LEGACY makes the old form (Python only).
set -euo pipefail
PYTHON=${PYTHON:-python3}
JCS=${JCS:-"$PYTHON -c 'import json, sys, rfc8785
for line in sys.stdin.buffer: sys.stdout.buffer.write(rfc8785.dumps(json.loads(line)) + b\"\\n\")'"}
# The old form needs the line as written (jq would print 1.0 as 1), so it removes the hash itself.
LEGACY=${LEGACY:-"$PYTHON -c 'import json, sys
for line in sys.stdin.buffer:
    r = json.loads(line); r[\"unmapped\"][\"chain\"].pop(\"hash\", None)
    sys.stdout.buffer.write(json.dumps(r, sort_keys=True, separators=(\",\", \":\"), ensure_ascii=False).encode() + b\"\\n\")'"}
ZEROS=0000000000000000000000000000000000000000000000000000000000000000

usage() { echo "usage: verify-chain.sh [--key FILE] [--] LOG..." >&2; exit 2; }
keyfile=""
while [ $# -gt 0 ]; do
    case $1 in
        --key) [ $# -ge 2 ] || usage; keyfile=$2; shift 2 ;;
        --key=*) keyfile=${1#--key=}; shift ;;
        --) shift; break ;;
        -?*) echo "verify-chain.sh: unknown option $1 (a LOG starting with - goes after --)" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || usage
[ -z "$keyfile" ] || [ -r "$keyfile" ] || { echo "verify-chain.sh: cannot read the key file $keyfile" >&2; exit 2; }
for tool in jq split truncate sha256sum openssl; do
    command -v "$tool" >/dev/null || { echo "verify-chain.sh: $tool is missing" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The key as hex, surrounding white space removed (as gatewatch reads it), for openssl's hexkey.
key_hex() {
    od -An -v -tx1 < "$1" | tr -s ' \n' '\n' | grep . |
        awk '{b[NR] = $0} END {s = 1; e = NR; ws = "^(20|09|0a|0b|0c|0d)$"
             while (s <= e && b[s] ~ ws) s++; while (e >= s && b[e] ~ ws) e--
             for (i = s; i <= e; i++) printf "%s", b[i]; print ""}'
}
hexkey=""
[ -z "$keyfile" ] || hexkey=$(key_hex "$keyfile")

# The SHA-256 or HMAC-SHA-256 of each line of $1 (without its newline), one per line, in order.
hash_lines() {
    local dir="$work/lines"
    rm -rf "$dir" && mkdir "$dir"
    [ -s "$1" ] || return 0
    split -l 1 -a 9 -d "$1" "$dir/l."
    printf '%s\0' "$dir"/l.* | xargs -0 truncate -s -1
    if [ -n "$hexkey" ]; then
        printf '%s\0' "$dir"/l.* | xargs -0 openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -r | cut -c1-64
    else
        printf '%s\0' "$dir"/l.* | xargs -0 sha256sum | cut -c1-64
    fi
}

# A name as printed: on one line, its fields unsplit (\\ \n \t \r for backslash, newline, tab, CR).
shown() {
    local s=${1//\\/\\\\}
    s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}; s=${s//$'\r'/\\r}
    printf '%s' "$s"
}

# A command over the chain's lines ($1: what it is) failed after writing $2's lines: one line
# naming the line it stopped at (the one after the last it wrote) and the last line it said on
# stderr ($work/err), then the chain's. Reads the chain's $shown name and $work/where.
failed_at() {
    local at said
    at=$(sed -n "$(($(wc -l < "$2") + 1))p" "$work/where")
    said=$(grep -a . "$work/err" | tail -n 1 | tr -d '\000-\037' | sed 's/ at line [0-9]*, column [0-9]*$//' || true)
    echo "${at:-$shown}: invalid: $1 failed${said:+: $said}"
    echo "$shown: BROKEN"
}

# One chain: its files in order (names sort in chain order), its head file (may not exist).
verify_chain() {
    local name=$1 head=$2; shift 2
    local alg=sha256 shown f
    shown=$(shown "$name")
    [ -n "$hexkey" ] && alg=hmac-sha256
    if [ -z "$hexkey" ] && [ -f "$head" ] && [ "$(jq -r '.alg // ""' < "$head")" = hmac-sha256 ]; then
        echo "$(shown "$head"):1: keyed: the head says the log is sealed with an HMAC key: give --key"
        echo "$shown: BROKEN"; return 1
    fi
    : > "$work/where"
    for f in "$@"; do  # file:line of each line, the name from the environment (awk -v would read escapes)
        WHERE=$(shown "$f") awk 'BEGIN {w = ENVIRON["WHERE"]} {print w ":" NR}' < "$f" >> "$work/where"
    done
    # Every file on stdin (cat --), so that no name is read as an option or an awk assignment.
    if ! cat -- "$@" | jq -r '.unmapped.chain | [.seq, .prev, .hash, .alg, (.canon // "-")] | @tsv' > "$work/fields" 2> "$work/err"; then
        failed_at "jq (not a record)" "$work/fields"; return 1
    fi
    if ! cat -- "$@" | jq -c 'del(.unmapped.chain.hash)' | eval "$JCS" > "$work/jcs" 2> "$work/err"; then
        failed_at "the canonicaliser (JCS)" "$work/jcs"; return 1
    fi
    if ! cat -- "$@" | eval "$LEGACY" > "$work/legacy" 2> "$work/err"; then
        failed_at "the canonicaliser (LEGACY)" "$work/legacy"; return 1
    fi
    hash_lines "$work/jcs" > "$work/jcs.hash"
    hash_lines "$work/legacy" > "$work/legacy.hash"
    local head_seq="" head_hash=""
    if [ -n "$head" ] && [ -f "$head" ]; then
        if [ "$(jq 'has("format")' < "$head")" = true ]; then
            jq -c '{format, seq, hash, file, files, alg}' < "$head" | eval "$JCS" > "$work/head"
            if [ "$(hash_lines "$work/head")" != "$(jq -r .seal < "$head")" ]; then
                echo "$(shown "$head"):1: head: the head does not match its seal"; echo "$shown: BROKEN"; return 1
            fi
            [ "$(jq -r .alg < "$head")" = "$alg" ] || { echo "$(shown "$head"):1: head: sealed with $(jq -r .alg < "$head"), expected $alg"; echo "$shown: BROKEN"; return 1; }
        else
            echo "  note: $(shown "$head") is in the old format (no seal)"
        fi
        head_seq=$(jq -r .seq < "$head") head_hash=$(jq -r .hash < "$head")
    elif [ -n "$hexkey" ] && [ -n "$head" ]; then
        echo "$shown: BROKEN: no head file: records cut off the end cannot be ruled out"; return 1
    fi
    paste "$work/fields" "$work/where" "$work/jcs.hash" "$work/legacy.hash" |
        NAME=$shown HSEQ=$head_seq HHASH=$head_hash awk -F'\t' -v alg="$alg" -v zeros="$ZEROS" '
        BEGIN { name = ENVIRON["NAME"]; hseq = ENVIRON["HSEQ"]; hhash = ENVIRON["HHASH"] }
        function bad(where, text) { print where ": " text; broken++ }
        { seq = $1; prev = $2; hash = $3; where = $6
          if ($5 == "jcs") { want = $7; if (!jcs) jcs = where }
          else if ($5 == "-") { want = $8; if (jcs) bad(where, "downgraded: record " seq " is in the old form after records in jcs (from " jcs ")") }
          else { bad(where, "invalid: canon " $5 " is not jcs"); want = "" }
          if ($4 != alg) bad(where, "downgraded: record " seq " is sealed with " $4 ", expected " alg)
          else if (want != hash) bad(where, "edited: record " seq " does not match its hash")
          if (NR == 1 && seq != 1) print "  note: starts at sequence " seq " (earlier files removed by retention?)"
          if (NR == 1 && seq == 1 && prev != zeros) bad(where, "inserted: sequence 1 does not start a chain")
          if (NR > 1 && seq != last + 1) bad(where, "sequence " seq " where " last + 1 " belongs")
          else if (NR > 1 && prev != lasthash) bad(where, "inserted: record " seq " does not link to record " last)
          if (hseq != "" && seq == hseq && hash != hhash) bad(where, "head: record " seq " is not the one the head names")
          if (NR == 1) first = seq
          last = seq; lasthash = hash }
        END { if (NR == 0) bad(name, "empty: no records")
              if (hseq != "" && hseq + 0 > last + 0) bad(name, "truncated: the log ends at sequence " last ", the head says " hseq)
              if (broken) { print name ": BROKEN (" broken " problem(s)): " NR " records"; exit 1 }
              print name ": ok: " NR " records, sequence " first ".." last }'
}

status=0
for log in "$@"; do
    [ "$log" = / ] || log=${log%/}
    if [ -d "$log" ]; then
        # The folder's alert files (a quoted folder name is never a pattern), in chain order
        # (names of one stem differ only in their digits), and their stems in first-seen order.
        dir="$log/"; [ "$log" != / ] || dir=/
        all=() stems=()
        for f in "$dir"alerts-*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9].jsonl; do
            [ -f "$f" ] || continue
            all+=("$f")
            stem=${f##*/}; stem=${stem%-*}
            new=1
            for s in ${stems[@]+"${stems[@]}"}; do [ "$s" != "$stem" ] || { new=0; break; }; done
            [ $new = 0 ] || stems+=("$stem")
        done
        [ ${#stems[@]} -gt 0 ] || { echo "$(shown "$log"): BROKEN: no alert files"; status=1; continue; }
        for stem in "${stems[@]}"; do
            files=()
            for f in "${all[@]}"; do g=${f##*/}; [ "${g%-*}" != "$stem" ] || files+=("$f"); done
            verify_chain "$dir$stem" "$dir$stem.head" "${files[@]}" || status=1
        done
    else
        [ -f "$log" ] || { echo "verify-chain.sh: $(shown "$log"): no such file or folder" >&2; exit 2; }
        verify_chain "$log" "" "$log" || status=1
    fi
done
exit $status
