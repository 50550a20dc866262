# Shared by the benchmark scripts (source it after setting BASE): the demo admin's token, the
# first supplier and restaurant, and the supplier's next delivery date.
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

# Sets TOKEN, AUTH, SUPPLIER, RESTAURANT and DATE (the first of the supplier's delivery days
# after today, UTC).
bench_setup() {
  TOKEN=$(curl -sf "$BASE/api/v1/auth/dev/login" -H 'content-type: application/json' \
    -d '{"email":"admin@iris.local","password":"iris-demo"}' | json 'd["accessToken"]')
  AUTH=(-H "authorization: Bearer $TOKEN" -H 'content-type: application/json')
  RESTAURANT=$(curl -sf "$BASE/api/v1/restaurants?limit=1" "${AUTH[@]}" | json 'd["data"][0]["id"]')
  local supplier_json days
  supplier_json=$(curl -sf "$BASE/api/v1/suppliers?limit=1" "${AUTH[@]}")
  SUPPLIER=$(echo "$supplier_json" | json 'd["data"][0]["id"]')
  days=$(echo "$supplier_json" | json '",".join(d["data"][0]["deliveryDays"])')
  DATE=$(python3 - "$days" <<'PY'
import datetime, sys
days = sys.argv[1].split(",")
names = ["MONDAY","TUESDAY","WEDNESDAY","THURSDAY","FRIDAY","SATURDAY","SUNDAY"]
d = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=1)
while names[d.weekday()] not in days:
    d += datetime.timedelta(days=1)
print(d.isoformat())
PY
)
}
