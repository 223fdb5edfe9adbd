"""The error codes seen in 2026, as the simulator answers them to the real SDK: each a sentence a designer
understands, in English and Chinese, with the request id; none re-sent but AllocationQuota, which may be a
per-minute limit and is tried once more after the window."""

from __future__ import annotations

import pytest
from conftest import FAST_RETRY, UNPACED

from core import errors
from core.request import EditRequest
from core.settings import Settings
from core.studio import Studio

CASES = [
    # (fault, error, words every English message has, words every Chinese message has)
    (
        "free_tier_only",
        errors.FreeTierOnlyError,
        ["free quota", "used up", "Model Studio console", "switch off", "Free quota only", "nothing was billed"],
        ["免费额度", "百炼控制台", "关闭", "仅使用免费额度"],
    ),
    (
        "model_access_denied",
        errors.ModelAccessDeniedError,
        ["workspace", "qwen-image-edit-max", "Beijing", "Model.AccessDenied", "administrator"],
        ["业务空间", "qwen-image-edit-max", "北京", "管理员"],
    ),
    (
        "workspace_access_denied",
        errors.WorkspaceAccessDeniedError,
        ["workspace", "qwen-image-edit-max", "Beijing", "Workspace.AccessDenied", "region"],
        ["业务空间", "qwen-image-edit-max", "北京", "地域"],
    ),
    (
        "allocation_quota",
        errors.QuotaExhaustedError,
        ["qwen-image-edit-max", "per-minute limit", "wait", "quota is used up", "Model Studio console"],
        ["qwen-image-edit-max", "每分钟", "稍等", "额度已用尽"],
    ),
]


@pytest.mark.parametrize(("fault", "error", "english", "chinese"), CASES, ids=[case[0] for case in CASES])
def test_each_2026_code_reads_as_what_to_do_with_its_request_id_and_is_not_resent(
    sim, tmp_path, make_image, fault, error, english, chinese
):
    sim.inject(fault, times=5)
    request = EditRequest.create([make_image()], "make it red", model="qwen-image-edit-max", region="beijing", seed=1)
    # Unpaced: edit-max's 2 a minute would hold AllocationQuota's second try for half a minute.
    studio = Studio(Settings(data_dir=tmp_path, simulate=True, rate_limits=UNPACED), simulator=sim, retry=FAST_RETRY)
    with pytest.raises(errors.ServiceError) as caught:
        studio.edit(request)
    studio.close()

    assert type(caught.value) is error
    # A refusal that waiting a few seconds would not lift is sent once; AllocationQuota once more.
    assert sim.stats.generation_calls == (2 if fault == "allocation_quota" else 1)
    en, zh = caught.value.message("en"), caught.value.message("zh")
    assert caught.value.request_id and caught.value.request_id in en and caught.value.request_id in zh
    assert [word for word in english if word not in en] == []
    assert [word for word in chinese if word not in zh] == []
