"""Derive ``monitor/policy/data/country-shapes.json`` (which country a vehicle position is in)
from Natural Earth's 1:110m admin-0 countries, as the geopandas 0.14.x wheel ships them
(``geopandas/datasets/naturalearth_lowres``; Natural Earth is public domain).

Run once, offline, from the checkout (nothing here ships in the wheel):

    pip download --no-deps -d /tmp/ne geopandas==0.14.4 && (cd /tmp/ne && unzip -q geopandas-*.whl 'geopandas/datasets/*')
    pip install --target /tmp/ne/lib pyshp pycountry
    PYTHONPATH=/tmp/ne/lib python lab/country_shapes.py /tmp/ne/geopandas/datasets/naturalearth_lowres/naturalearth_lowres

Output: per ISO 3166-1 alpha-2 code, the rings of its polygons as flat [lon, lat, ...] lists
rounded to 0.001 degree (about 100 m, far below the 110m scale's own error of a few km). Natural
Earth already cuts shapes at the antimeridian (Russia, Fiji, the US), so every ring lies within
±180. Hong Kong and Macau are no units at this scale (their land lies inside China's polygon);
since China's rules treat them as outside the mainland, each gets a hand-drawn outline from
their published borders (about 1-2 km off), which ``wherevehicle`` checks before China.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "monitor" / "policy" / "data" / "country-shapes.json"
SOURCE = ("Natural Earth 1:110m Cultural Vectors, Admin 0 - Countries (as in the geopandas 0.14.4 wheel's "
          "datasets/naturalearth_lowres, Natural Earth 5.x); https://www.naturalearthdata.com/downloads/110m-cultural-vectors/; "
          "public domain (https://www.naturalearthdata.com/about/terms-of-use/)")
#: Natural Earth units without an alpha-3 code of their own, mapped to the state whose law applies.
SPECIAL = {"Kosovo": "XK", "N. Cyprus": "CY", "Somaliland": "SO"}
#: Outlines (lon, lat) drawn for gatewatch: Hong Kong along the Shenzhen River and across Deep Bay
#: south of Shekou, Macau along the Portas do Cerco and Hengqin borders; coarse on the sea side.
DRAWN = {
    "HK": [113.83, 22.13, 113.83, 22.38, 113.89, 22.43, 113.94, 22.47, 113.97, 22.49, 114.03, 22.505,
           114.09, 22.535, 114.16, 22.56, 114.23, 22.555, 114.46, 22.57, 114.46, 22.13],  # Shekou stays out
    "MO": [113.528, 22.215, 113.56, 22.215, 113.60, 22.17, 113.60, 22.10, 113.555, 22.10, 113.555, 22.135,
           113.53, 22.175],
}


def alpha2(name: str, alpha3: str) -> str:
    import pycountry

    if name in SPECIAL:
        return SPECIAL[name]
    found = pycountry.countries.get(alpha_3=alpha3)
    if found is None:
        raise SystemExit(f"no ISO 3166-1 code for {name} ({alpha3})")
    return found.alpha_2


def rings(shape) -> list[list[float]]:
    bounds = [*shape.parts, len(shape.points)]
    out = []
    for first, end in zip(bounds, bounds[1:]):
        flat = [round(v, 3) for point in shape.points[first:end] for v in point]
        out.append(flat)
    return out


def main(path: str) -> None:
    import shapefile

    countries: dict[str, list[list[float]]] = {}
    for item in shapefile.Reader(path).iterShapeRecords():
        code = alpha2(item.record["name"], item.record["iso_a3"])
        countries.setdefault(code, []).extend(rings(item.shape))
    for code, ring in DRAWN.items():
        countries[code] = [ring]
    doc = {"source": SOURCE, "drawn": "HK, MO: outlines drawn for gatewatch (lab/country_shapes.py), about 1-2 km off",
           "countries": dict(sorted(countries.items()))}
    body = ",\n".join(f"  {json.dumps(code)}: {json.dumps(r, separators=(',', ':'))}" for code, r in doc["countries"].items())
    OUT.write_text(f'{{"source": {json.dumps(doc["source"])},\n "drawn": {json.dumps(doc["drawn"])},\n'
                   f' "countries": {{\n{body}\n }}\n}}\n')
    print(f"{OUT}: {len(countries)} countries, {sum(len(r) for rs in countries.values() for r in rs) // 2} points")


if __name__ == "__main__":
    main(sys.argv[1])
