"""Run edits in their own process, for the crash tests: `python tests/crash_driver.py DATA_DIR BASE_URL N [MODEL
EDITS]` (EDITS edits of N images on MODEL, one after the other; by default one on the default model).

The test kills this process with SIGKILL at chosen moments and then checks what a restart recovers.
"""

import io
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.caller import Caller
from core.catalog import DEFAULT_MODEL
from core.request import EditRequest
from core.settings import Settings
from core.studio import Studio


def main() -> None:
    data_dir, base_url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    model, edits = (sys.argv[4], int(sys.argv[5])) if len(sys.argv) > 5 else (DEFAULT_MODEL, 1)
    settings = Settings(data_dir=Path(data_dir), api_key="sk-crash-test", base_url_override=base_url)
    studio = Studio(settings)
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 90, 160)).save(buffer, "PNG")
    for _ in range(edits):
        request = EditRequest.create([buffer.getvalue()], "make it sunny", model=model, n=n, seed=4)
        result = studio.edit(request, Caller("crash"))
        print("DONE", len(result.images), flush=True)


if __name__ == "__main__":
    main()
