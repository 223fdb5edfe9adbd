"""Every error a user can meet, one class per kind, each with its message in English and Chinese.

The UI picks the language and displays `error.message(lang)`; nothing else formats user-facing text.
Messages never contain an API key: they are built only from the parameters given here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

LANGUAGES = ("en", "zh")


class EditError(Exception):
    """Base of all errors shown to the user."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Something went wrong: {detail}",
        "zh": "出错了：{detail}",
    }

    def __init__(self, request_id: str | None = None, **params: Any) -> None:
        self.params = params
        self.request_id = request_id
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        """The sentence for a person, in `lang` ("en" or "zh"; anything else falls back to English)."""
        template = self.messages.get(lang) or self.messages["en"]
        text = template.format(**self.params)
        if self.request_id:
            text += (" (请求 ID：{})" if lang == "zh" else " (request id: {})").format(self.request_id)
        return text


# --- the request: refused before any network call -------------------------------------------------


class InvalidRequestError(EditError):
    """A parameter of the edit is outside what the model accepts; `field` names it."""

    field: str = ""

    def __init__(self, request_id: str | None = None, *, field: str | None = None, **params: Any) -> None:
        if field:
            self.field = field
        super().__init__(request_id, **params)


class NoImageError(InvalidRequestError):
    """Fewer input images than the model needs (its `min_images`); `for_model` words the way out."""

    field = "images"
    messages: ClassVar[dict[str, str]] = {
        "en": "{model} edits input images: add at least {min} (it takes up to {max}){choice}.",
        "zh": "{model} 需要输入图片：请至少添加 {min} 张（最多 {max} 张）{choice_zh}。",
    }

    @classmethod
    def for_model(cls, model: str, minimum: int, maximum: int, prompt_only: Sequence[str]) -> NoImageError:
        """The refusal for `model`, naming a model of `prompt_only` (those that start from a prompt alone)."""
        choice = choice_zh = ""
        if prompt_only:
            choice = f", or pick a model that can start from the prompt alone, such as {prompt_only[0]}"
            choice_zh = f"，或改用仅凭提示词即可生成的模型，如 {prompt_only[0]}"
        return cls(model=model, min=minimum, max=maximum, choice=choice, choice_zh=choice_zh)


class TooManyImagesError(InvalidRequestError):
    """More input images than the model takes (its `max_images`): says which would not be sent."""

    field = "images"
    messages: ClassVar[dict[str, str]] = {
        "en": "{model} takes up to {max} images and {count} are given: {dropped} will not be sent. "
        "Remove the extra image(s){choice}; nothing is sent until then.",
        "zh": "{model} 最多接受 {max} 张图片，当前给了 {count} 张：{dropped_zh} 将不会发送。"
        "请移除多出的图片{choice_zh}；在此之前不会发送任何内容。",
    }

    @classmethod
    def for_model(
        cls, model: str, maximum: int, slots: Sequence[int], takes_more: Sequence[tuple[str, int]]
    ) -> TooManyImagesError:
        """The refusal for `model` given images in `slots` (the user's slot numbers, in order): the slots
        numbered past its maximum are named; `takes_more` are (model, its maximum) pairs that would take them all."""
        count, dropped = len(slots), [slot for slot in slots if slot > maximum]
        if takes_more:
            other, most = takes_more[0]
            choice = f", or pick a model that takes {count}, such as {other} (up to {most})"
            choice_zh = f"，或改用可接受 {count} 张的模型，如 {other}（最多 {most} 张）"
        else:
            choice, choice_zh = " (no model takes that many)", "（没有模型能接受这么多张）"
        return cls(
            model=model,
            max=maximum,
            count=count,
            dropped=image_list(dropped, "en"),
            dropped_zh=image_list(dropped, "zh"),
            choice=choice,
            choice_zh=choice_zh,
        )


def image_list(slots: Sequence[int], lang: str) -> str:
    """ "Image 4", "Images 4 and 5", "Images 4, 5 and 6"; in Chinese "图4", "图4 和 图5", "图4、图5 和 图6"."""
    if lang == "zh":
        names = [f"图{slot}" for slot in slots]
        return names[0] if len(names) == 1 else "、".join(names[:-1]) + " 和 " + names[-1]
    numbers = [str(slot) for slot in slots]
    if len(numbers) == 1:
        return f"Image {numbers[0]}"
    return "Images " + ", ".join(numbers[:-1]) + " and " + numbers[-1]


class EmptyPromptError(InvalidRequestError):
    """The prompt is empty or only white space."""

    field = "prompt"
    messages: ClassVar[dict[str, str]] = {
        "en": "Write a prompt: say what to change in the image.",
        "zh": "请填写提示词：说明要如何修改图片。",
    }


class TextTooLongError(InvalidRequestError):
    """The prompt or negative prompt is longer than its limit."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The {label} is {length} characters long; the limit is {limit}. Shorten it by {excess}.",
        "zh": "{label_zh}长 {length} 个字符，上限为 {limit}。请删减 {excess} 个字符。",
    }


class InvalidTextError(InvalidRequestError):
    """The prompt holds characters that cannot be sent (NUL and other control characters)."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The {label} contains control characters (such as NUL) that cannot be sent. Remove them.",
        "zh": "{label_zh}含有无法发送的控制字符（如 NUL），请删除。",
    }


class SwitchValueError(InvalidRequestError):
    """A yes/no setting (prompt rewriting, watermark) was given something other than true or false."""

    messages: ClassVar[dict[str, str]] = {
        "en": "{label} must be true or false, not {value!r}.",
        "zh": "{label_zh}必须是 true 或 false，而不是 {value!r}。",
    }


class BrokenTextError(InvalidRequestError):
    """The prompt holds a lone surrogate: half of a character (often of an emoji), which cannot be encoded."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The {label} contains a broken character at position {position} (half of an emoji or another "
        "character, often left by copying and pasting), so it cannot be sent. Delete it and type that "
        "character again.",
        "zh": "{label_zh}第 {position} 个字符已损坏（半个表情符号或其他字符，常见于复制粘贴），无法发送。"
        "请删除后重新输入该字符。",
    }


class UnknownModelError(InvalidRequestError):
    """The model name is not one of the catalog's."""

    field = "model"
    messages: ClassVar[dict[str, str]] = {
        "en": "Unknown model {model!r}. Choose one of: {choices}.",
        "zh": "未知模型 {model!r}。可选：{choices}。",
    }


class UnknownRegionError(InvalidRequestError):
    """The region name is not one of the catalog's."""

    field = "region"
    messages: ClassVar[dict[str, str]] = {
        "en": "Unknown region {region!r}. Choose one of: {choices}.",
        "zh": "未知地域 {region!r}。可选：{choices}。",
    }


class SizeFormatError(InvalidRequestError):
    """The size is neither "auto" nor W*H with whole numbers."""

    field = "size"
    messages: ClassVar[dict[str, str]] = {
        "en": 'Output size {value!r} is not understood. Use "auto" or width*height, e.g. "1024*1536".',
        "zh": '无法识别输出尺寸 {value!r}。请使用 "auto" 或 宽*高，例如 "1024*1536"。',
    }


class SizeOutOfRangeError(InvalidRequestError):
    """A side of the size is outside the model's per-side bounds."""

    field = "size"
    messages: ClassVar[dict[str, str]] = {
        "en": "Output size {value}: width and height must each be between {low} and {high} pixels.",
        "zh": "输出尺寸 {value}：宽和高都必须在 {low} 到 {high} 像素之间。",
    }


class SizeAreaError(InvalidRequestError):
    """The size's pixel count is outside what a total-pixels model takes."""

    field = "size"
    messages: ClassVar[dict[str, str]] = {
        "en": "Output size {value} is {pixels:,} pixels in all; {model} takes {low} to {high} pixels in all.",
        "zh": "输出尺寸 {value} 共 {pixels:,} 像素；{model} 接受的总像素为 {low} 到 {high}。",
    }


class SizeAspectError(InvalidRequestError):
    """The size is longer and thinner than the model's aspect limit."""

    field = "size"
    messages: ClassVar[dict[str, str]] = {
        "en": "Output size {value} has an aspect ratio of {ratio:.1f}:1; {model} takes at most {limit:g}:1.",
        "zh": "输出尺寸 {value} 的宽高比为 {ratio:.1f}:1；{model} 最多接受 {limit:g}:1。",
    }


class SizeNotSupportedError(InvalidRequestError):
    """A custom size was asked of a model that only follows its default rule."""

    field = "size"
    messages: ClassVar[dict[str, str]] = {
        "en": "{model} does not take a custom output size; choose Auto, or a model that takes one.",
        "zh": "{model} 不支持自定义输出尺寸；请选择“自动”，或改用支持自定义尺寸的模型。",
    }


class NegativePromptNotSupportedError(InvalidRequestError):
    """A negative prompt was given to a model that takes none."""

    field = "negative_prompt"
    messages: ClassVar[dict[str, str]] = {
        "en": "{model} takes no negative prompt; clear it, or pick a model that takes one.",
        "zh": "{model} 不接受反向提示词；请清空反向提示词，或改用支持它的模型。",
    }


class CountOutOfRangeError(InvalidRequestError):
    """n is outside 1 to the model's maximum (a model that makes one image says so, not "between 1 and 1")."""

    field = "n"
    messages: ClassVar[dict[str, str]] = {
        "en": "Number of images {value!r}: {model} makes {limit}.",
        "zh": "图片数量 {value!r}：{model} {limit_zh}。",
    }

    def __init__(self, request_id: str | None = None, *, max_n: int, **params: Any) -> None:
        one = max_n == 1
        super().__init__(
            request_id,
            max_n=max_n,
            limit="1 image per run" if one else f"between 1 and {max_n} images per run",
            limit_zh="每次只生成 1 张" if one else f"每次可生成 1 到 {max_n} 张",
            **params,
        )


class SeedOutOfRangeError(InvalidRequestError):
    """The seed is not a whole number in [0, 2147483647]."""

    field = "seed"
    messages: ClassVar[dict[str, str]] = {
        "en": "Seed {value!r} must be a whole number from 0 to {high}, or random.",
        "zh": "种子 {value!r} 必须是 0 到 {high} 之间的整数，或选择随机。",
    }


class PromptExtendNotSupportedError(InvalidRequestError):
    """Prompt rewriting was asked of a model without it."""

    field = "prompt_extend"
    messages: ClassVar[dict[str, str]] = {
        "en": "{model} does not rewrite prompts; turn prompt rewriting off or pick a model that does.",
        "zh": "{model} 不支持提示词改写；请关闭提示词改写，或改用支持改写的模型。",
    }


class ImageReferenceError(InvalidRequestError):
    """The prompt names an input image (by its slot, `number`) whose slot is empty."""

    field = "prompt"
    messages: ClassVar[dict[str, str]] = {
        "en": "The prompt mentions {reference}, but slot {number} is empty. Add an image there or change the prompt.",
        "zh": "提示词中提到了 {reference}，但图{number}是空的。请在图{number}中添加图片，或修改提示词。",
    }


class ReferenceBeyondModelError(ImageReferenceError):
    """The prompt names an input image past the most the model takes (its `max_images`)."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The prompt mentions {reference}, but {model} takes at most {max} images. Change the prompt{choice}.",
        "zh": "提示词中提到了 {reference}，但 {model} 最多接受 {max} 张图片。请修改提示词{choice_zh}。",
    }

    @classmethod
    def for_model(
        cls, reference: str, number: int, model: str, maximum: int, takes_more: Sequence[tuple[str, int]]
    ) -> ReferenceBeyondModelError:
        """The refusal of `reference` (to Image `number`) for `model`; `takes_more` are (model, its maximum)
        pairs that take that many."""
        choice = choice_zh = ""
        if takes_more:
            other, most = takes_more[0]
            choice = f", or pick a model that takes {number}, such as {other} (up to {most})"
            choice_zh = f"，或改用可接受 {number} 张的模型，如 {other}（最多 {most} 张）"
        return cls(reference=reference, number=number, model=model, max=maximum, choice=choice, choice_zh=choice_zh)


# --- input images -------------------------------------------------------------------------------


class ImageError(InvalidRequestError):
    """An input image cannot be used; `slot` (1 to the model's maximum) says which."""

    field = "images"


class ImageUnreadableError(ImageError):
    """The file is empty, truncated, corrupt or not an image at all."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Image {slot} cannot be read ({reason}). Use a JPG, PNG, BMP, TIFF, WEBP or GIF file.",
        "zh": "无法读取图{slot}（{reason_zh}）。请使用 JPG、PNG、BMP、TIFF、WEBP 或 GIF 文件。",
    }


class ImageFormatError(ImageError):
    """The file is an image, but of a format the models do not take."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Image {slot} is in {format} format, which the models do not take. "
        "Convert it to JPG, PNG, BMP, TIFF, WEBP or GIF.",
        "zh": "图{slot} 是 {format} 格式，模型不支持。请转换为 JPG、PNG、BMP、TIFF、WEBP 或 GIF。",
    }


class ImageTooSmallError(ImageError):
    """A side of the image is below the smallest this app will upscale to the models' recommended minimum."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Image {slot} is {width}x{height} pixels, too small to edit: each side must be at least {minimum} "
        "pixels (images with a side from {minimum} to {recommended} are upscaled to {recommended}, the models' "
        "recommended minimum). Use a larger image.",
        "zh": "图{slot} 为 {width}x{height} 像素，太小，无法编辑：宽和高都至少需要 {minimum} 像素"
        "（边长在 {minimum} 到 {recommended} 像素之间的图片会被放大到 {recommended} 像素，即模型建议的最小值）。"
        "请换一张更大的图片。",
    }


class ImageTooLargeError(ImageError):
    """The image declares more pixels than it is safe to decode (a decompression bomb, or simply huge)."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Image {slot} declares {width}x{height} pixels, more than the {limit} megapixels this app "
        "will open. Resize it first.",
        "zh": "图{slot} 声明为 {width}x{height} 像素，超过本应用可打开的 {limit} 百万像素。请先缩小。",
    }


class ImageAspectRatioError(ImageError):
    """The image is so long and narrow that no scaling brings both sides into the models' range."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Image {slot} is {width}x{height} pixels, too long and narrow: both sides must end up "
        "between {minimum} and {maximum} pixels, so the long side may be at most {ratio} times the short "
        "one. Crop it first.",
        "zh": "图{slot} 为 {width}x{height} 像素，过于细长：宽和高都需在 {minimum} 到 {maximum} 像素之间，"
        "因此长边最多为短边的 {ratio} 倍。请先裁剪。",
    }


# --- DashScope's answers ------------------------------------------------------------------------


class ServiceError(EditError):
    """DashScope refused or failed the call; `code` is its error code when there is one."""

    retryable: ClassVar[bool] = False
    code: str = ""


class InvalidApiKeyError(ServiceError):
    """The key was refused (401): wrong, revoked, or from the other region."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The API key was refused. Check it, and check that it belongs to the {region} region: "
        "Singapore and Beijing keys are separate and do not work in the other region.",
        "zh": "API Key 被拒绝。请检查 Key 是否正确，以及它是否属于{region_zh}地域：新加坡与北京的 Key 互不通用。",
    }


class MissingApiKeyError(ServiceError):
    """No key is configured and the visitor gave none."""

    messages: ClassVar[dict[str, str]] = {
        "en": "An API key is needed: paste your DashScope (Model Studio) key in the key field.",
        "zh": "需要 API Key：请在 Key 输入框中粘贴你的 DashScope（百炼）API Key。",
    }


class MalformedApiKeyError(ServiceError):
    """The key holds characters no API key has (a line break, a space, NUL, non-ASCII): refused unsent."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The API key contains characters that an API key cannot have (a line break, a space, or something "
        "other than plain letters, digits and punctuation), so it was not sent. Paste the key again, on its own.",
        "zh": "API Key 含有 Key 中不会出现的字符（换行、空格，或普通字母、数字和标点以外的字符），因此未发送。"
        "请重新粘贴 Key，不要带其他内容。",
    }


class AccessDeniedError(ServiceError):
    """The account may not use this model (403), e.g. not activated or not purchased."""

    messages: ClassVar[dict[str, str]] = {
        "en": "This account may not use {model} ({code}): activate the model in the Model Studio console, "
        "or choose another model. Service said: {detail}",
        "zh": "该账号无权使用 {model}（{code}）：请在百炼控制台开通该模型，或换用其他模型。服务返回：{detail}",
    }


class ModelAccessDeniedError(AccessDeniedError):
    """Model.AccessDenied (403): the key's workspace is not allowed this model."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The workspace of this API key may not call {model} in the {region} region ({code}). Ask the "
        "workspace's administrator to grant it this model (Model Studio console, workspace permissions), use a key "
        "of a workspace that has it, or choose another model. Service said: {detail}",
        "zh": "该 API Key 所属的业务空间无权在{region_zh}地域调用 {model}（{code}）。请联系业务空间管理员在百炼控制台"
        "为其授权该模型，改用有该模型权限的业务空间的 Key，或换用其他模型。服务返回：{detail}",
    }


class WorkspaceAccessDeniedError(AccessDeniedError):
    """Workspace.AccessDenied (403): the key's workspace has no access to this model or region."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The workspace of this API key has no access to {model} in the {region} region ({code}): a workspace "
        "reaches only the models and regions its administrator allowed. Use a key of a workspace with access there, "
        "ask the administrator to grant it, or choose another model or region. Service said: {detail}",
        "zh": "该 API Key 所属的业务空间在{region_zh}地域无权访问 {model}（{code}）：业务空间只能使用管理员授权的模型"
        "和地域。请改用有权限的业务空间的 Key、联系管理员授权，或换用其他模型或地域。服务返回：{detail}",
    }


class ModelNotFoundError(ServiceError):
    """The model does not exist in the chosen region (404)."""

    messages: ClassVar[dict[str, str]] = {
        "en": "{model} is not available in the {region} region. Choose another model or region.",
        "zh": "{model} 在{region_zh}地域不可用。请换用其他模型或地域。",
    }


class ContentInspectionError(ServiceError):
    """Content moderation refused the input or the output (DataInspectionFailed)."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The content check refused this edit (an input image, the prompt, or the result). "
        "Change the prompt or the images and try again. Nothing was billed.",
        "zh": "内容安全检查未通过（输入图片、提示词或生成结果）。请修改提示词或图片后重试。本次不计费。",
    }


class ThrottledError(ServiceError):
    """Too many requests (429) and still throttled after our retries."""

    retryable = True
    messages: ClassVar[dict[str, str]] = {
        "en": "DashScope is throttling this key (too many requests); {attempts} attempts failed. "
        "Wait a minute and try again.",
        "zh": "DashScope 正在限流（请求过多），已尝试 {attempts} 次仍失败。请稍等一分钟再试。",
    }


class QuotaExhaustedError(ServiceError):
    """Throttling.AllocationQuota: either the account's per-minute allowance for the model, used for the moment,
    or a quota used up; the two cannot be told apart, so it is not retried."""

    messages: ClassVar[dict[str, str]] = {
        "en": "DashScope refused {model} with Throttling.AllocationQuota. Either this account's per-minute limit "
        "for the model is reached for the moment (it recovers within about a minute: wait, then try again), or its "
        "quota is used up (check the model's quota in the Model Studio console, or choose another model).",
        "zh": "DashScope 拒绝了 {model}（Throttling.AllocationQuota）。可能是该账号此模型的每分钟限额暂时用完"
        "（通常一分钟内恢复：请稍等后重试），也可能是额度已用尽（请在百炼控制台查看该模型的额度，或换用其他模型）。",
    }


class FreeTierOnlyError(QuotaExhaustedError):
    """AllocationQuota.FreeTierOnly (403): the free quota is used up while "use free tier only" is on, the usual
    error of a new account."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The free quota for {model} is used up, and this account is set to use free quota only, so the call "
        "was refused (nothing was billed). To go on at the normal price, sign in to the Model Studio console and "
        'switch off "Free quota only" ("use free tier only": on the Model Usage page, Free Quota tab, or on the '
        "model's page under Models). Or choose a model that still has free quota.",
        "zh": "{model} 的免费额度已用完，且该账号设置为仅使用免费额度，因此调用被拒绝（未计费）。如需按量付费继续使用，"
        "请登录百炼控制台，关闭“仅使用免费额度”（“免费额度用完即停”，位于“模型用量”页的“免费额度”标签，"
        "或模型广场中该模型的页面）；或换用仍有免费额度的模型。",
    }


class ArrearageError(ServiceError):
    """The account is in arrears (Arrearage)."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The Alibaba Cloud account behind this key is in arrears. Top it up, then try again.",
        "zh": "该 Key 所属的阿里云账号已欠费。请充值后再试。",
    }


class ServiceRejectedParameterError(ServiceError):
    """DashScope refused a parameter (InvalidParameter) that our checks let through."""

    messages: ClassVar[dict[str, str]] = {
        "en": "DashScope refused the request: {detail}",
        "zh": "DashScope 拒绝了该请求：{detail}",
    }


class ServiceUnavailableError(ServiceError):
    """DashScope failed (5xx) and kept failing after our retries."""

    retryable = True
    messages: ClassVar[dict[str, str]] = {
        "en": "DashScope is having trouble ({code}); {attempts} attempts failed. Try again in a few minutes.",
        "zh": "DashScope 服务异常（{code}），已尝试 {attempts} 次仍失败。请几分钟后再试。",
    }


class MaybeBilledError(ServiceError):
    """The call may have run but its answer was lost (read timeout, 504): never re-sent automatically."""

    messages: ClassVar[dict[str, str]] = {
        "en": "DashScope's answer was lost ({detail}). The images may still have been made and billed, "
        "so the edit was not re-sent automatically. Run it again if you want new results.",
        "zh": "DashScope 的响应丢失（{detail}）。图片可能已生成并计费，因此未自动重新发送。如需结果请重新运行。",
    }


class ConnectionFailedError(ServiceError):
    """DashScope could not be reached at all (nothing was sent)."""

    retryable = True
    messages: ClassVar[dict[str, str]] = {
        "en": "Could not reach {host} after {attempts} attempts. Check the network connection and the region.",
        "zh": "尝试 {attempts} 次后仍无法连接 {host}。请检查网络连接和地域设置。",
    }


class UnexpectedResponseError(ServiceError):
    """The answer could not be understood (not JSON, no images, an unknown error code)."""

    messages: ClassVar[dict[str, str]] = {
        "en": "DashScope answered in a way this app does not understand ({code}): {detail}",
        "zh": "DashScope 返回了无法识别的结果（{code}）：{detail}",
    }


class SdkRefusedError(ServiceError):
    """The dashscope SDK raised one of its own errors (InvalidInput, UploadFileException, ...) before sending."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The DashScope SDK stopped this edit before sending it ({kind}: {detail}). Nothing was sent or billed.",
        "zh": "DashScope SDK 在发送前中止了本次编辑（{kind}：{detail}）。未发送任何请求，也未计费。",
    }


# --- result downloads ---------------------------------------------------------------------------


class DownloadError(EditError):
    """A result image could not be saved; `index` (1-based) says which. `resumable`: the failure may pass, so
    the result stays pending and the studio tries again while its link lives."""

    resumable: ClassVar[bool] = False


class LinkExpiredError(DownloadError):
    """The result link has expired (DashScope's links live 24 hours)."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Result {index} can no longer be downloaded: its link has expired (links live 24 hours). "
        "Run the edit again.",
        "zh": "结果 {index} 已无法下载：链接已过期（有效期 24 小时）。请重新运行。",
    }


class DisallowedHostError(DownloadError):
    """A result link points at a host that is neither DashScope's result storage nor the configured base."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Result {index} points at {host}, which is not DashScope's result storage; it was not downloaded.",
        "zh": "结果 {index} 指向 {host}，不是 DashScope 的结果存储，已拒绝下载。",
    }


class DownloadFailedError(DownloadError):
    """The download kept failing (network, server error, wrong content) after our retries."""

    resumable = True

    messages: ClassVar[dict[str, str]] = {
        "en": "Result {index} could not be downloaded after {attempts} attempts ({reason}).",
        "zh": "结果 {index} 下载 {attempts} 次仍失败（{reason}）。",
    }


class NothingSavedError(EditError):
    """The call succeeded, and was billed, but not one of its results could be saved; each reason is listed."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Nothing was saved: DashScope made {count} image(s), and billed them, but none could be downloaded. "
        "{reasons}{later}",
        "zh": "没有保存任何图片：DashScope 已生成 {count} 张图片并计费，但一张也未能下载。{reasons_zh}{later_zh}",
    }

    @classmethod
    def listing(cls, failures: tuple[DownloadError, ...], request_id: str | None = None) -> NothingSavedError:
        """The error for an edit whose results all failed as `failures` say."""
        later = any(failure.resumable for failure in failures)
        return cls(
            request_id,
            count=len(failures),
            reasons=" ".join(failure.message("en") for failure in failures),
            reasons_zh=" ".join(failure.message("zh") for failure in failures),
            later=_STILL_TRYING["en"] if later else "",
            later_zh=_STILL_TRYING["zh"] if later else "",
        )


_STILL_TRYING = {
    "en": " The app keeps trying those that may still come while their links live (24 hours); they appear in "
    "History when they land.",
    "zh": "链接有效期内（24 小时），应用会继续尝试下载仍可能成功的图片，下载成功后会出现在历史记录中。",
}


class RateLimitedError(EditError):
    """A visitor used up their hourly edits on the host's key."""

    messages: ClassVar[dict[str, str]] = {
        "en": "You have run {limit} edits in the last hour on this site's key, its hourly limit. "
        "Try again in about {minutes} min, or use your own DashScope key (no limit here).",
        "zh": "过去一小时内你已使用本站 Key 运行 {limit} 次编辑，达到每小时上限。请约 {minutes} 分钟后再试，"
        "或使用你自己的 DashScope Key（不受此限制）。",
    }


class AllowanceExceededError(EditError):
    """A run of several edits (an exploration) does not fit the visitor's hourly allowance on the host's key."""

    messages: ClassVar[dict[str, str]] = {
        "en": "This grid needs {count} edits but you have {left} left this hour on this site's key. "
        "Make the grid smaller, or use your own DashScope key.",
        "zh": "该网格需要 {count} 次编辑，但本小时你在本站 Key 上只剩 {left} 次。"
        "请缩小网格，或使用你自己的 DashScope Key。",
    }


# --- exploration and the command line -------------------------------------------------------------


class PlanTooLargeError(InvalidRequestError):
    """An exploration plan has more cells than the configured cap (QWEN_EDIT_EXPLORE_MAX_CELLS)."""

    field = "plan"
    messages: ClassVar[dict[str, str]] = {
        "en": "This plan has {count} cells ({prompts} prompt(s) x {seeds} seed(s) x {models} model(s) x "
        "{sizes} size(s)); the limit is {limit}. Remove prompt variants, seeds, models or sizes.",
        "zh": "该探索计划共 {count} 个组合（{prompts} 个提示词 x {seeds} 个种子 x {models} 个模型 x {sizes} 个尺寸），"
        "上限为 {limit}。请减少提示词变体、种子、模型或尺寸。",
    }


class PlanImageCountError(InvalidRequestError):
    """Some models of an exploration plan cannot take the number of images given: their cells are named."""

    field = "images"
    messages: ClassVar[dict[str, str]] = {
        "en": "This plan cannot run with {count} image(s): {problems}. Change the images or untick those "
        "models; nothing was sent.",
        "zh": "该探索计划无法使用 {count} 张图片运行：{problems_zh}。请调整图片，或取消勾选这些模型；未发送任何请求。",
    }

    @classmethod
    def for_cells(cls, count: int, refusals: Sequence[tuple[str, Sequence[int], int, int]]) -> PlanImageCountError:
        """`refusals`: (model, its cells' numbers (1-based), the model's minimum, maximum) for each model that
        cannot take `count` images."""
        en, zh = [], []
        for model, cells, minimum, maximum in refusals:
            numbers = ", ".join(str(cell) for cell in cells)
            if count < minimum:
                en.append(f"cell(s) {numbers} use {model}, which needs at least {minimum}")
                zh.append(f"第 {numbers} 格使用 {model}，它至少需要 {minimum} 张")
            else:
                en.append(f"cell(s) {numbers} use {model}, which takes up to {maximum}")
                zh.append(f"第 {numbers} 格使用 {model}，它最多接受 {maximum} 张")
        return cls(count=count, problems="; ".join(en), problems_zh="；".join(zh))


class RandomSeedCountError(InvalidRequestError):
    """The number of random seeds asked for an exploration is not a whole number from 0 up."""

    field = "seeds"
    messages: ClassVar[dict[str, str]] = {
        "en": "Number of random seeds {value!r} must be a whole number from 0 to {limit}.",
        "zh": "随机种子数量 {value!r} 必须是 0 到 {limit} 之间的整数。",
    }


class EditCancelledError(EditError):
    """The edit was cancelled (an exploration's Cancel) before its request went out: nothing was sent."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Cancelled before it was sent; nothing was billed.",
        "zh": "已在发送前取消，未产生费用。",
    }


class TooManyWaitingError(EditError):
    """A visitor already has the most edits waiting for DashScope's rate limit at once (QWEN_EDIT_MAX_WAITING):
    a waiting edit holds one of the site's places for edits, so more would keep everyone else waiting."""

    messages: ClassVar[dict[str, str]] = {
        "en": "You already have {count} edits waiting for DashScope's rate limit here, the most at once. Wait "
        "until one starts (or cancel one), then try again; nothing was sent.",
        "zh": "你已有 {count} 个编辑在等待 DashScope 的速率限制，已达同时等待的上限。请等其中一个开始（或取消一个）"
        "后再试；本次未发送任何内容。",
    }


class PacingCancelledError(EditCancelledError):
    """Cancelled (or the app stopped) while the edit waited for its turn under DashScope's rate limit."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Cancelled while waiting for DashScope's rate limit; nothing was billed.",
        "zh": "已在等待 DashScope 速率限制期间取消，未产生费用。",
    }


class ImageLinkRefusedError(ImageError):
    """An input image was given as a link to a host we do not fetch from."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Image {slot} is a link to {host}; only DashScope result links (and those of the configured "
        "endpoint) are fetched. Download the file and give its path instead.",
        "zh": "图{slot} 是指向 {host} 的链接；只会获取 DashScope 结果链接（以及所配置服务地址的链接）。"
        "请先下载该文件，再提供本地路径。",
    }


class ResultFileMissingError(EditError):
    """An export needs a result that is no longer in the store (deleted, or evicted under the storage caps)."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The results of cell {cell} are no longer stored (the edit was deleted, or removed to keep within "
        "the storage limit), so this run cannot be exported. Run the grid again; star the cells you want to keep.",
        "zh": "第 {cell} 格的结果已不在存储中（该编辑已被删除，或为遵守存储上限而被移除），因此无法导出本次运行。"
        "请重新运行网格；想保留的格请加星。",
    }


class RunInFlightError(EditError):
    """A page asked for a second run while its first is still in flight (one click, one run)."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Run {number} is still in progress in this tab, so this one was not started (nothing was sent). "
        "Wait for it to finish, or press Cancel, then generate again.",
        "zh": "本标签页的第 {number} 次运行仍在进行，因此没有开始新的运行（未发送任何内容）。"
        "请等它完成，或先点“取消”，再重新生成。",
    }


# --- region edits: the mask and the canvas ---------------------------------------------------------


class RegionError(InvalidRequestError):
    """The mask or the canvas expansion of a region edit cannot be used; nothing has been sent."""

    field = "mask"


class MaskUnreadableError(RegionError):
    """The mask file is not an image this app can read."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The mask cannot be read ({reason}). Paint the region again, or give a PNG where white (or opaque) "
        "marks what may change.",
        "zh": "无法读取蒙版（{reason_zh}）。请重新涂抹区域，或提供白色（或不透明）部分表示可修改区域的 PNG。",
    }


class MaskSizeError(RegionError):
    """The mask's shape is not Image 1's."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The mask is {width}x{height} pixels but Image 1 is {image_width}x{image_height}: they must have the "
        "same shape. Paint the region on Image 1 again.",
        "zh": "蒙版为 {width}x{height} 像素，而图1为 {image_width}x{image_height} 像素：两者形状必须一致。"
        "请在图1上重新涂抹区域。",
    }


class MaskEmptyError(RegionError):
    """The mask marks no pixel at all."""

    messages: ClassVar[dict[str, str]] = {
        "en": "The mask marks nothing: paint the area of Image 1 that may change, or clear the mask to edit the "
        "whole image.",
        "zh": "蒙版没有标出任何区域：请在图1上涂抹允许修改的部分，或清除蒙版以编辑整张图片。",
    }


class MaskWithoutImageError(RegionError):
    """A region tool (a mask, a canvas expansion, Align to Image 1) was asked for but Image 1 was not given."""

    messages: ClassVar[dict[str, str]] = {
        "en": "{tool} applies to Image 1, and Image 1 is empty. Add Image 1, or turn it off.",
        "zh": "{tool_zh}作用于图1，但图1为空。请添加图1，或关闭该功能。",
    }
    TOOLS: ClassVar[dict[str, tuple[str, str]]] = {
        "mask": ("A mask", "蒙版"),
        "expand": ("Expanding the canvas", "扩展画布"),
        "align": ("Align to Image 1", "“对齐到图1”"),
    }

    @classmethod
    def for_tool(cls, tool: str) -> MaskWithoutImageError:
        """The refusal for `tool` ("mask", "expand" or "align")."""
        english, chinese = cls.TOOLS[tool]
        return cls(tool=english, tool_zh=chinese)


class RegionConflictError(RegionError):
    """Two region tools were asked for at once (a mask and a canvas expansion)."""

    messages: ClassVar[dict[str, str]] = {
        "en": "A mask and a canvas expansion cannot be used in one edit. Clear the mask, or set the expansion "
        "to 0 on every side.",
        "zh": "同一次编辑不能同时使用蒙版和扩展画布。请清除蒙版，或把四边的扩展都设为 0。",
    }


class ExpansionError(RegionError):
    """The canvas expansion is not a size the model can make."""

    field = "expand"
    messages: ClassVar[dict[str, str]] = {
        "en": "The canvas cannot be expanded that way: {reason}. Each side takes 0 to {most} pixels, "
        "and the new canvas must stay within an aspect ratio of {ratio}:1.",
        "zh": "无法这样扩展画布：{reason_zh}。每边可扩展 0 到 {most} 像素，新画布的长宽比不能超过 {ratio}:1。",
    }


# --- marks drawn on Image 1 (core/marks.py) --------------------------------------------------------


class MarksError(InvalidRequestError):
    """The marks are not what the editor makes (a forged or broken value); `detail` says what."""

    field = "marks"
    messages: ClassVar[dict[str, str]] = {
        "en": "The marks cannot be drawn: {detail}.",
        "zh": "无法绘制标记：{detail_zh}。",
    }


class NoteTextMissingError(InvalidRequestError):
    """A note was placed without its text."""

    field = "marks"
    messages: ClassVar[dict[str, str]] = {
        "en": "Type the note's text first, then click where it goes.",
        "zh": "请先输入批注文字，再点击要放置的位置。",
    }


class MarksNotSentError(InvalidRequestError):
    """Generate was pressed with the Marks area open: the marks reach the model only through Send with marks."""

    field = "marks"
    messages: ClassVar[dict[str, str]] = {
        "en": "The marks are not sent yet: press “Send with marks” (it puts the marked copy in Image 2 "
        "and the marks prompt first in the prompt), then Generate.",
        "zh": "标记尚未放入：请先点击“带标记发送”（把带标记的副本放进图2，并把标记提示词放在提示词开头），再点击生成。",
    }


class MarksWithRegionError(InvalidRequestError):
    """A painted region together with a marks prompt: the region edit would send a crop the marks do not fit."""

    field = "marks"
    messages: ClassVar[dict[str, str]] = {
        "en": "The prompt asks to apply the marks of Image 2, and a region is painted on Image 1: a region edit "
        "sends only the painted part, which the marked copy does not match. Choose Whole image, or remove the "
        "marks prompt.",
        "zh": "提示词要求应用图2中的标记，同时图1上涂抹了区域：区域编辑只发送涂抹的部分，与带标记的副本对不上。"
        "请选择“整张图”，或删除标记提示词。",
    }


# --- recipes (core/recipes.py) and the rendered text of change-text (core/lettering.py) -----------------


class RecipeError(InvalidRequestError):
    """A recipe's form cannot write its prompt."""


class UnknownRecipeError(RecipeError):
    """No recipe has that id."""

    field = "recipe"
    messages: ClassVar[dict[str, str]] = {
        "en": "There is no recipe {recipe!r}. Pick one from the list.",
        "zh": "没有名为 {recipe!r} 的配方，请从列表中选择。",
    }


class RecipeFieldEmptyError(RecipeError):
    """A text field of the recipe is empty."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Recipe “{recipe}”: fill in “{label}” first.",
        "zh": "配方“{recipe_zh}”：请先填写“{label_zh}”。",
    }


class RecipeValueError(RecipeError):
    """A field of the recipe holds a value it does not take."""

    messages: ClassVar[dict[str, str]] = {
        "en": "Recipe “{recipe}”, “{label}”: {reason}.",
        "zh": "配方“{recipe_zh}”，“{label_zh}”：{reason_zh}。",
    }


class FontMissingError(RecipeError):
    """The font chosen for the rendered text is not installed on this server."""

    field = "font"
    messages: ClassVar[dict[str, str]] = {
        "en": "The font “{font}” is not installed on this server, so the text cannot be rendered. Pick another "
        "font, or install it (Debian: apt-get install {package}).",
        "zh": "服务器上没有安装字体“{font_zh}”，无法渲染文字。"
        "请换一种字体，或安装它（Debian：apt-get install {package}）。",
    }


class GlyphsMissingError(RecipeError):
    """The chosen font has no glyphs for some characters of the text: it would render empty boxes."""

    field = "font"
    messages: ClassVar[dict[str, str]] = {
        "en": "The font “{font}” has no glyphs for {characters}: it would render empty boxes. Pick a font that "
        "has them, such as {suggestion}.",
        "zh": "字体“{font_zh}”没有 {characters} 的字形，只会渲染成空框。请换用包含这些字的字体，例如 {suggestion}。",
    }


class NoFreeSlotError(RecipeError):
    """The rendered text needs an empty slot and every one it may go to is in use."""

    field = "images"
    messages: ClassVar[dict[str, str]] = {
        "en": "The rendered text goes into an empty slot ({slots}), and each of them holds an image. Empty one, "
        "or untick “Render the new text as a reference”.",
        "zh": "渲染出的文字需要放进一个空位置（{slots_zh}），但它们都已占用。"
        "请清空其中一个，或取消勾选“把新文字渲染为参考图”。",
    }
