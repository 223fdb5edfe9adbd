"""DashScope's temporary storage for local files, as the SDK uses it: a policy, then a multipart POST.

The SDK uploads a local file (an `image` given as a path, or any content item, prompt text included, that
names an existing file) by asking `GET {base}/uploads?action=getPolicy&model=…` for a policy, posting the
file as multipart form data to the policy's `upload_host`, and sending `oss://{upload_dir}/{name}` instead.
Here the upload host is the simulator itself, and every upload is recorded in its stats, so a test can show
that nothing was uploaded (or that something was).
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from email.message import Message
from urllib.parse import parse_qs

from core.simulator.protocol import ErrorAnswer, Reply, error_reply, json_reply, key_refusal, oss_error_reply
from core.simulator.stats import SimulatorStats

KEPT_BYTES = 256 * 1024 * 1024  # uploaded files kept for oss:// references; the oldest go first beyond this
POLICY_SECONDS = 300
_FORM_FIELDS = ("OSSAccessKeyId", "Signature", "policy", "key")


@dataclass(frozen=True)
class _Policy:
    """What a policy was issued for, and the form values an upload under it must carry."""

    model: str
    authorization: str | None
    policy: str
    signature: str


class UploadService:
    """Issues upload policies and receives the uploads they allow; one per Simulator."""

    def __init__(self, upload_host: str, valid_keys: Collection[str] | None, stats: SimulatorStats) -> None:
        self._upload_host = upload_host
        self._valid_keys = valid_keys
        self._stats = stats
        self._lock = threading.Lock()
        self._policies: dict[str, _Policy] = {}  # by upload_dir
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._kept = 0

    def policy(self, authorization: str | None, query: str) -> Reply:
        """The answer to `GET …/uploads?action=getPolicy&model=…`: where and how to upload one file."""
        request_id = str(uuid.uuid4())
        refusal = key_refusal(authorization, self._valid_keys)
        if refusal is not None:
            return error_reply(refusal, request_id)
        params = parse_qs(query)
        model = params.get("model", [""])[0]
        if params.get("action", [""])[0] != "getPolicy" or not model:
            return error_reply(
                ErrorAnswer(400, "InvalidParameter", "action=getPolicy and model are required."), request_id
            )
        upload_dir = f"dashscope-instant/{secrets.token_hex(16)}"
        issued = _Policy(model, authorization, secrets.token_urlsafe(24), secrets.token_urlsafe(18))
        with self._lock:
            self._policies[upload_dir] = issued
        self._stats.record_upload_policy()
        data = {
            "policy": issued.policy,
            "signature": issued.signature,
            "upload_dir": upload_dir,
            "upload_host": self._upload_host,
            "expire_in_seconds": POLICY_SECONDS,
            "max_file_size_mb": 100,
            "capacity_limit_mb": 999999999,
            "oss_access_key_id": "sim-uploads",
            "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true",
        }
        return json_reply(200, {"request_id": request_id, "data": data})

    def receive(self, headers: Message, body: bytes) -> Reply:
        """The answer to the multipart POST of one file to the upload host; records what arrived."""
        request_id = uuid.uuid4().hex.upper()
        fields, file = _form(headers, body)
        missing = [name for name in _FORM_FIELDS if name not in fields]
        if file is None or missing:
            what = ", ".join(missing + ([] if file is not None else ["file"]))
            return oss_error_reply(ErrorAnswer(400, "InvalidArgument", f"Missing form field(s): {what}."), request_id)
        key = fields["key"]
        with self._lock:
            issued = self._policies.get(key.rpartition("/")[0])
        if issued is None or (fields["policy"], fields["Signature"]) != (issued.policy, issued.signature):
            return oss_error_reply(
                ErrorAnswer(403, "SignatureDoesNotMatch", "No upload policy issued here covers this key."), request_id
            )
        filename, content = file
        self._keep(key, content)
        self._stats.record_upload(
            {
                "key": key,
                "filename": filename,
                "bytes": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "content_type": fields.get("x-oss-content-type"),
                "model": issued.model,
                "authorization": issued.authorization,
            }
        )
        return Reply(200, b"", "application/xml")

    def fetch(self, key: str) -> bytes | None:
        """An uploaded file by its key (what follows `oss://`), while it is kept."""
        with self._lock:
            return self._files.get(key)

    def _keep(self, key: str, content: bytes) -> None:
        with self._lock:
            if key in self._files:
                self._kept -= len(self._files.pop(key))
            self._files[key] = content
            self._kept += len(content)
            while self._kept > KEPT_BYTES and len(self._files) > 1:
                _, dropped = self._files.popitem(last=False)
                self._kept -= len(dropped)


def _form(headers: Message, body: bytes) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """The text fields of a multipart/form-data body and its `file` part (filename, bytes), if any."""
    content_type = headers.get("Content-Type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return {}, None
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body
    )
    fields: dict[str, str] = {}
    file: tuple[str, bytes] | None = None
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "file":
            file = (part.get_filename() or "", payload)
        elif isinstance(name, str):
            fields[name] = payload.decode("utf-8", errors="replace")
    return fields, file
