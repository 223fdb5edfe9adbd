"""Run one edit in its own process, for the crash tests: `python tests/crash_driver.py DATA_DIR BASE_URL N`.

The test kills this process with SIGKILL at chosen moments and then checks what a restart recovers.
"""

import io
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.caller import Caller
from core.request import EditRequest
from core.settings import Settings
from core.studio import Studio


def main() -> None:
    data_dir, base_url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    settings = Settings(data_dir=Path(data_dir), api_key="sk-crash-test", base_url_override=base_url)
    studio = Studio(settings)
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 90, 160)).save(buffer, "PNG")
    result = studio.edit(EditRequest.create([buffer.getvalue()], "make it sunny", n=n, seed=4), Caller("crash"))
    print("DONE", len(result.images), flush=True)


if __name__ == "__main__":
    main()
