"""Heavy files under the size limit: how fast and in how much memory intake refuses them.

A 9 MB CSV of a million rows once ran past 600 s and 5.7 GB; a 2.2 MB XLSX of 100,000 rows took
104 s and 931 MB and stored 200,007 findings. Each is read here by ``read_submission`` in a
process of its own, so its wall time and peak memory (max RSS) are the reader's alone.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from tasks.core.contract import KEYS as COLUMNS

ROOT = Path(__file__).resolve().parent.parent


def big_csv(rows: int) -> bytes:
    """A CSV with the contract's header and ``rows`` short rows (8 MB at a million: under the
    10 MB limit, so only the row limit can refuse it)."""
    lines = ["codigo_hito,avance_pct"] + [f"{n % 9 + 1}.{n % 7 + 1},50" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def big_xlsx(rows: int) -> bytes:
    """A valid .xlsx whose sheet ``Hitos`` has ``rows`` rows under the contract's header, written
    as XML directly (openpyxl needs minutes for 100,000 rows)."""
    cells = "".join(f'<c t="inlineStr"><is><t>{c}</t></is></c>' for c in COLUMNS)
    body = [f'<row r="1">{cells}</row>']
    body += [
        f'<row r="{n + 2}"><c t="inlineStr"><is><t>MINGOB</t></is></c>'
        f'<c t="inlineStr"><is><t>{n}.1</t></is></c><c><v>50</v></c></row>'
        for n in range(rows)
    ]
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData>' + "".join(body) + "</sheetData></worksheet>"
    )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006"
    parts = {
        "[Content_Types].xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{package}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package}/'
            f'relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            '<sheets><sheet name="Hitos" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package}/'
            f'relationships"><Relationship Id="rId1" Type="{rel}/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def read_one(path: Path) -> dict[str, Any]:
    """Read one file as intake does (in this process); what the reader concluded."""
    from tasks.workbooks.reading import UnreadableFile, read_submission

    started = time.perf_counter()
    try:
        result = read_submission(path.read_bytes(), path.name)
        outcome = f"read, {len(result.rows)} rows"
    except UnreadableFile as exc:
        outcome = f"refused: {exc.rule}"
    return {
        "outcome": outcome,
        "read_seconds": round(time.perf_counter() - started, 3),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def measure(path: Path) -> dict[str, Any]:
    """Wall time and peak memory of reading ``path`` in a fresh process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.heavy_files", str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return {
        "file": path.name,
        "size_mb": round(path.stat().st_size / 1024 / 1024, 1),
        **json.loads(done.stdout),
        "process_seconds": round(time.perf_counter() - started, 2),
    }


def run(folder: Path | None = None) -> list[dict[str, Any]]:
    """The million-row CSV and the 100,000-row XLSX, each measured in its own process beside a
    template-sized file of the same format (the process's own start-up is most of its memory).
    """
    folder = folder or Path(tempfile.mkdtemp(prefix="hitos-heavy-"))
    files = {
        "template-sized.csv": big_csv(20),
        "million-rows.csv": big_csv(1_000_000),
        "template-sized.xlsx": big_xlsx(20),
        "hundred-thousand-rows.xlsx": big_xlsx(100_000),
    }
    measures = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        measures.append(measure(path))
    return measures


if __name__ == "__main__":
    print(json.dumps(read_one(Path(sys.argv[1]))))
