"""With MCP enabled, /edit is an MCP tool that agents can list and call (real MCP client over HTTP)."""

import asyncio
import base64

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

import app
from core.settings import Settings
from core.studio import Studio
from ui.layout import build_app, launch_options


@pytest.fixture
def mcp_url(sim, tmp_path):
    from test_app import _free_port

    studio = Studio(Settings(data_dir=tmp_path, simulate=True), simulator=sim)
    demo = build_app(studio, browser_secret="test-secret")
    demo.queue(default_concurrency_limit=4)
    port = _free_port()
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=port,
        mcp_server=True,
        quiet=True,
        **launch_options(studio),
    )
    yield f"http://127.0.0.1:{port}/gradio_api/mcp/"
    demo.close()
    studio.close()


async def _list_and_call(url: str, arguments: dict) -> tuple[list, str]:
    async with streamable_http_client(url) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        tools = (await session.list_tools()).tools
        answer = await session.call_tool(tools[0].name, arguments)
        return tools, answer.content[0].text


def test_edit_is_an_mcp_tool_that_needs_only_a_prompt_and_takes_extra_images(mcp_url, make_image):
    uri = "data:image/png;base64," + base64.b64encode(make_image(640, 480)).decode()
    tools, text = asyncio.run(_list_and_call(mcp_url, {"image_1": uri, "prompt": "make it blue", "seed": 5}))

    (tool,) = tools
    schema = tool.inputSchema
    assert tool.name.endswith("edit")
    properties = {"image_1", "image_2", "image_3", "prompt", "n", "seed", "size", "api_key", "extra_images"}
    assert properties <= set(schema["properties"])
    assert schema.get("required", []) in ([], ["prompt"])  # image_1 too is optional: text-to-image models
    assert "'seed': 5" in text and ".png" in text
    assert "'request_id'" in text and "'simulated': True" in text


def test_the_mcp_tool_describes_mask_and_align_and_an_agent_makes_a_region_edit(mcp_url):
    from test_regions import mask_png, photo

    def uri(data: bytes) -> str:
        return "data:image/png;base64," + base64.b64encode(data).decode()

    arguments = {
        "image_1": uri(photo(800, 600)),
        "prompt": "gold helmet",
        "mask": uri(mask_png(800, 600, (300, 200, 450, 300))),
    }
    tools, text = asyncio.run(_list_and_call(mcp_url, arguments))

    properties = tools[0].inputSchema["properties"]
    assert "white (or opaque) where Image 1 may change" in properties["mask"]["description"]
    assert "raw_files" in properties["mask"]["description"]
    assert "undo the model's shift and zoom" in properties["align"]["description"]
    assert properties["align"].get("type") == "boolean"
    assert "'raw_files'" in text and "'kind': 'mask'" in text


@pytest.mark.parametrize(
    ("flags", "environment", "mcp_on"),
    [
        ([], "True", True),  # Gradio's own setting, without the flag
        (["--mcp"], "False", True),  # the flag wins over the setting
        (["--mcp"], None, True),
        ([], "False", False),
        ([], None, False),
    ],
)
def test_app_py_serves_mcp_with_the_flag_or_gradios_own_setting(sim, tmp_path, monkeypatch, flags, environment, mcp_on):
    from test_app import _free_port

    if environment is None:
        monkeypatch.delenv("GRADIO_MCP_SERVER", raising=False)
    else:
        monkeypatch.setenv("GRADIO_MCP_SERVER", environment)
    args = app.parse_args([*flags, "--host", "127.0.0.1", "--port", str(_free_port())])
    studio = Studio(Settings(data_dir=tmp_path, simulate=True), simulator=sim)
    demo = build_app(studio, browser_secret="test-secret")
    demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_arguments(args), **launch_options(studio))
    try:
        schema = httpx.get(demo.local_url + "gradio_api/mcp/schema", timeout=10)
        assert (schema.status_code == 200) is mcp_on
        if mcp_on:
            assert [tool["name"] for tool in schema.json()] == ["edit"]
    finally:
        demo.close()
        studio.close()


def test_an_agent_makes_an_image_from_a_prompt_alone_on_a_text_to_image_model(mcp_url, sim):
    _tools, text = asyncio.run(_list_and_call(mcp_url, {"prompt": "a red fox", "model": "qwen-image-2.0"}))
    assert "'request_id'" in text and ".png" in text
    assert sim.stats.requests[-1]["image_count"] == 0 and sim.stats.requests[-1]["model"] == "qwen-image-2.0"
