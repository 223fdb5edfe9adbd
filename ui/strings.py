"""Every label, hint and status line of the page, in English and Simplified Chinese.

Labels go to the browser through `gr.I18n` (translated there by the browser's language); status lines and
errors are built on the server in the language of the request's Accept-Language header.
"""

from __future__ import annotations

import gradio as gr

EN: dict[str, str] = {
    "title": "Qwen Edit Studio",
    "subtitle": "Edit and combine images with Alibaba's Qwen image-edit models.",
    "banner_simulated": "**Simulator mode** — no DashScope API key is configured, so a local simulator answers: "
    "the images are simulated, not made by Qwen. Set `DASHSCOPE_API_KEY` (or enter your own key below) "
    "for real edits.",
    "image_1": "Image 1",
    "image_2": "Image 2",
    "image_3": "Image 3",
    "slots_hint": "Up to three images, in order: refer to them in the prompt as Image 1, Image 2, Image 3. "
    "Unless a size is set, the output follows the aspect ratio of the last image given.",
    "prompt": "Prompt",
    "prompt_placeholder": "e.g. The girl in Image 1 wears the dress from Image 2, in the pose of Image 3",
    "negative_prompt": "Negative prompt",
    "negative_placeholder": "What to avoid, e.g. blurry, extra fingers",
    "generate": "Generate",
    "cancel": "Cancel",
    "settings": "Settings",
    "model": "Model",
    "region": "Region",
    "size": "Output size",
    "size_auto": "Auto (follow last image)",
    "size_custom": "Custom",
    "width": "Width",
    "height": "Height",
    "n": "Number of images",
    "seed": "Seed",
    "random_seed": "Random seed",
    "prompt_extend": "Prompt rewriting",
    "prompt_extend_info": "Lets a language model expand the prompt before editing (often more stable). "
    "The rewritten prompt is not returned.",
    "watermark": "Watermark",
    "watermark_info": 'Adds a "Qwen-Image" mark to the results.',
    "key_section": "Your DashScope API key",
    "key_field": "API key",
    "key_placeholder": "sk-…  (kept only in this browser)",
    "key_save": "Save key in this browser",
    "key_forget": "Forget my key",
    "results": "Results",
    "record": "Details",
    "use_as_1": "Use as Image 1",
    "use_as_2": "Use as Image 2",
    "use_as_3": "Use as Image 3",
    "compare": "Before / after",
    "compare_with": "Compare with",
    "examples": "Examples (click one to run it)",
}

ZH: dict[str, str] = {
    "title": "Qwen 图像编辑工作室",
    "subtitle": "使用阿里巴巴通义千问图像编辑模型编辑与融合图片。",
    "banner_simulated": "**模拟器模式** —— 未配置 DashScope API Key，由本地模拟器应答：图片是模拟生成的，"
    "并非 Qwen 的结果。设置 `DASHSCOPE_API_KEY`（或在下方填写你自己的 Key）即可真实编辑。",
    "image_1": "图1",
    "image_2": "图2",
    "image_3": "图3",
    "slots_hint": "最多三张图片，按顺序在提示词中称为 图1、图2、图3。未设置尺寸时，输出沿用最后一张图片的宽高比。",
    "prompt": "提示词",
    "prompt_placeholder": "例如：图1中的女孩穿上图2中的裙子，摆出图3中的姿势",
    "negative_prompt": "反向提示词",
    "negative_placeholder": "不希望出现的内容，例如：模糊、多余的手指",
    "generate": "生成",
    "cancel": "取消",
    "settings": "设置",
    "model": "模型",
    "region": "地域",
    "size": "输出尺寸",
    "size_auto": "自动（沿用最后一张图）",
    "size_custom": "自定义",
    "width": "宽",
    "height": "高",
    "n": "图片数量",
    "seed": "种子",
    "random_seed": "随机种子",
    "prompt_extend": "提示词改写",
    "prompt_extend_info": "编辑前由大语言模型扩写提示词（通常更稳定）。改写后的提示词不会返回。",
    "watermark": "水印",
    "watermark_info": "在结果上添加 “Qwen-Image” 标识。",
    "key_section": "你的 DashScope API Key",
    "key_field": "API Key",
    "key_placeholder": "sk-…（仅保存在本浏览器中）",
    "key_save": "在本浏览器中保存 Key",
    "key_forget": "清除我的 Key",
    "results": "结果",
    "record": "详情",
    "use_as_1": "用作图1",
    "use_as_2": "用作图2",
    "use_as_3": "用作图3",
    "compare": "前后对比",
    "compare_with": "对比对象",
    "examples": "示例（点击即可运行）",
}

# Lines built on the server, with placeholders.
STATUS: dict[str, dict[str, str]] = {
    "en": {
        "preparing": "Preparing the images…",
        "calling": "Waiting for Qwen…",
        "retrying": "DashScope is busy ({reason}); retrying in {delay:.0f} s (attempt {attempt} of {attempts})…",
        "downloading": "Downloading results {done}/{total}…",
        "done": "{count} image(s) saved in {seconds:.1f} s · seed {seed} · {width}x{height} · request {request_id}",
        "partial": "{saved} of {total} results saved; the others failed: {reasons}",
        "cost": "This run bills {count} image(s).",
        "cost_price": "This run bills {count} image(s) ≈ {amount} {currency}.",
        "auto_size": "→ about {width} x {height} (follows Image {slot})",
        "auto_size_none": "→ about 1024 x 1024, following the last image's aspect ratio",
        "fixed_size": "→ {width} x {height}",
        "chars": "{count} / {limit} characters",
        "model_info": "Up to {max_n} image(s) per run · {size} · {rewrite}",
        "custom_size": "custom size",
        "auto_only": "auto size only",
        "rewrite_yes": "prompt rewriting",
        "rewrite_no": "no prompt rewriting",
        "no_custom_size": "{model} only follows the default size rule.",
        "key_saved": "Your key is saved in this browser only; it is sent to DashScope with your edits and nowhere "
        "else.",
        "key_forgotten": "Your key was removed from this browser.",
        "key_required": "This Space asks every visitor to use their own DashScope key.",
        "key_stored": "A key is saved in this browser (hidden).",
        "pick_result": "Select a result first.",
        "invalid_file": "Image {slot}: {message}",
    },
    "zh": {
        "preparing": "正在准备图片…",
        "calling": "正在等待 Qwen…",
        "retrying": "DashScope 繁忙（{reason}）；{delay:.0f} 秒后重试（第 {attempt}/{attempts} 次）…",
        "downloading": "正在下载结果 {done}/{total}…",
        "done": "已保存 {count} 张图片，用时 {seconds:.1f} 秒 · 种子 {seed} · {width}x{height} · 请求 {request_id}",
        "partial": "{total} 个结果中已保存 {saved} 个；其余失败：{reasons}",
        "cost": "本次运行计费 {count} 张图片。",
        "cost_price": "本次运行计费 {count} 张图片，约 {amount} {currency}。",
        "auto_size": "→ 约 {width} x {height}（沿用图{slot}）",
        "auto_size_none": "→ 约 1024 x 1024，沿用最后一张图片的宽高比",
        "fixed_size": "→ {width} x {height}",
        "chars": "{count} / {limit} 字符",
        "model_info": "每次最多 {max_n} 张 · {size} · {rewrite}",
        "custom_size": "支持自定义尺寸",
        "auto_only": "仅自动尺寸",
        "rewrite_yes": "支持提示词改写",
        "rewrite_no": "不支持提示词改写",
        "no_custom_size": "{model} 仅支持默认尺寸规则。",
        "key_saved": "你的 Key 仅保存在本浏览器中；只会随编辑请求发送给 DashScope。",
        "key_forgotten": "已从本浏览器中删除你的 Key。",
        "key_required": "本 Space 要求每位访客使用自己的 DashScope Key。",
        "key_stored": "本浏览器中已保存一个 Key（已隐藏）。",
        "pick_result": "请先选择一个结果。",
        "invalid_file": "图{slot}：{message}",
    },
}

I18N = gr.I18n(en=EN, zh=ZH, **{"zh-CN": ZH, "zh-Hans": ZH})


def language_of(request: gr.Request | None) -> str:
    """ "zh" when the browser prefers Chinese, else "en"."""
    header = ""
    if request is not None and request.headers is not None:
        header = request.headers.get("accept-language", "") or ""
    first = header.split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


def status(key: str, lang: str, **values: object) -> str:
    """A server-built line in `lang`."""
    return STATUS.get(lang, STATUS["en"])[key].format(**values)
