"""Registration: the model's shift, zoom and small turn of an output against the crop it was sent, and undoing it.

Both images are compared as grey levels made from channels standardised over the valid pixels, so a tint or
colour cast of the whole output cancels out, at a working copy of 512 px on the long side (768 and 1024 px
halved the small errors further but doubled the time). The method is chosen by measurement
(`python -m benchmarks.regions`, 64 drifts of 8 images at about 1 MP rendered by the simulator, with its
tint, grain, caption band and mark, shifts up to ±24 px and zooms up to ±3 %, an ellipse repainted and
masked out; medians, worst in brackets, time on a busy 2-core machine):

- phase correlation (zoom by a search over 17 steps): 0.3 px (26), 0.4 % (1.5); ~140 ms;
- ECC alone (affine, from the identity, a quarter size first): 1.7 to 4 px (30), 1 to 2 % (9.5); ~100 ms;
  from the identity it often does not reach the larger shifts;
- SIFT + RANSAC similarity: 0.1 px (34), 0.02 % (3); 7 of 40 photo cases fell back (the flat sign);
  250-550 ms;
- ORB + RANSAC similarity: 0.2 to 0.4 px (1.0), 0.05 % (0.24); never failed; 30-60 ms;
- each refined by ECC on the pixels that are not outliers after the first guess: phase 0.02-0.07 px (22),
  SIFT 0.02-0.03 px (34), **ORB 0.02-0.04 px (0.38), 0.006 % (0.036); 65-75 ms**.

So: ORB features matched with a ratio test and a RANSAC similarity (`cv2.estimateAffinePartial2D`) give a
guess that is always within about a pixel, and ECC (`cv2.findTransformECCWithMask`, affine reduced to the
nearest similarity) refines it to a few hundredths of a pixel, ignoring the pixels that still disagree
(text the model drew, content changed beyond the mask). When too few features agree, phase correlation
gives the guess instead; when nothing can be trusted (no guess, or a result no closer than the identity)
the identity is returned with the reason in `method`. OpenCV (headless) because these are its well-kept C++
implementations, fast enough at 1 MP; scikit-image's equivalents were not needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

WORKING_SIDE = 512  # long side (px) of the working copies; at 768 or 1024 errors fell little and time doubled
ORB_FEATURES = 2000
MIN_INLIERS = 12  # feature matches that must agree before their transform is believed
RATIO = 0.75  # Lowe's ratio test for a feature match
RANSAC_PX = 1.5  # inlier distance at the working size
ECC_ITERATIONS = 20  # from a feature guess it converges in a few; more iterations changed nothing measured
ECC_EPSILON = 1e-4
OUTLIER_SIGMAS = 3.5  # residuals beyond this many robust sigmas (text drawn over, changed content) are ignored
SCALE_STEPS = np.linspace(0.96, 1.04, 17)  # the phase-correlation method's coarse zoom search
PHASE_MIN_RESPONSE = 0.05
MIN_VALID_SHARE = 0.05  # below this share of valid pixels nothing is estimated

Matrix = np.ndarray  # 2x3 float64: a point p of the reference lies at matrix @ (p, 1) in the moving image


@dataclass(frozen=True)
class Transform:
    """The drift of `moving` from `reference`: the content at point p of the reference appears in the moving
    image at c + scale R(rotation) (p - c) + (dx, dy), c the centre and y down (OpenCV pixel centres). dx > 0:
    moved right; dy > 0: down; scale > 1: enlarged; rotation > 0: turned counter-clockwise on screen (degrees).
    `method` says how it was found (or why it is the identity); `residual` is the mean absolute difference of
    the normalised grey levels over the valid pixels once undone (lower is better; 0 means identical)."""

    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0
    rotation: float = 0.0
    method: str = "identity"
    residual: float = 0.0

    IDENTITY: ClassVar[Transform]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dx": round(self.dx, 3),
            "dy": round(self.dy, 3),
            "scale": round(self.scale, 6),
            "rotation": round(self.rotation, 4),
            "method": self.method,
            "residual": round(self.residual, 4),
        }

    def matrix(self, size: tuple[int, int]) -> Matrix:
        """The 2x3 map from reference to moving coordinates for an image of `size` (width, height)."""
        width, height = size
        matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), self.rotation, self.scale)
        matrix[:, 2] += (self.dx, self.dy)
        return matrix

    @classmethod
    def from_matrix(cls, matrix: Matrix, size: tuple[int, int], method: str, residual: float) -> Transform:
        """The similarity nearest to the 2x3 `matrix` (reference to moving), for an image of `size`."""
        alpha = (matrix[0, 0] + matrix[1, 1]) / 2
        beta = (matrix[0, 1] - matrix[1, 0]) / 2
        scale, rotation = math.hypot(alpha, beta), math.degrees(math.atan2(beta, alpha))
        centred = cls(scale=scale, rotation=rotation).matrix(size)
        dx, dy = matrix[:, 2] + matrix[:, :2] @ _centre(size) - centred[:, 2] - centred[:, :2] @ _centre(size)
        return cls(float(dx), float(dy), float(scale), float(rotation), method, residual)


Transform.IDENTITY = Transform()


def warp(image: np.ndarray, transform: Transform) -> np.ndarray:
    """`image` (the moving one) resampled so its content lines up with the reference; same size and dtype."""
    if (transform.dx, transform.dy, transform.scale, transform.rotation) == (0, 0, 1, 0):
        return image.copy()
    height, width = image.shape[:2]
    return cv2.warpAffine(
        image,
        transform.matrix((width, height)),
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


# The models shift, zoom and turn their outputs a little (up to about 24 px and 3 % at 1 MP); an estimate far
# beyond that is a match between changed contents, and the identity is the safer answer.
PLAUSIBLE_SHIFT = 0.05
PLAUSIBLE_ZOOM = 0.06
PLAUSIBLE_ROTATION = 1.5


def estimate(reference: np.ndarray, moving: np.ndarray, valid: np.ndarray | None = None) -> Transform:
    """How `moving` drifted from `reference` (both HxWx3 uint8 of one size), judged only where `valid` (HxW
    bool) is True; the identity, with the reason in `method`, when no estimate can be trusted."""
    return estimate_with(ESTIMATORS[CHOSEN], reference, moving, valid)


# --- the methods measured ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Level:
    """One working resolution: standardised grey images, the valid mask, and the factor from full size."""

    reference: np.ndarray  # float32
    moving: np.ndarray  # float32
    valid: np.ndarray  # uint8 0/255
    factor: float  # working px per full-size px

    @property
    def size(self) -> tuple[int, int]:
        return self.reference.shape[1], self.reference.shape[0]


Guess = tuple["Matrix | None", str]  # a full-size map (None: no estimate) and the method, or why not
Estimator = Callable[[_Level], Guess]


def estimate_with(
    estimator: Estimator, reference: np.ndarray, moving: np.ndarray, valid: np.ndarray | None = None
) -> Transform:
    """`estimate` by the given method (one of ESTIMATORS), with its checks and fallback to the identity."""
    if reference.shape != moving.shape or reference.ndim != 3 or reference.shape[2] != 3:
        raise ValueError(f"reference and moving must be HxWx3 of one size, not {reference.shape} and {moving.shape}")
    height, width = reference.shape[:2]
    valid = np.ones((height, width), bool) if valid is None else valid
    if valid.shape != (height, width):
        raise ValueError(f"valid must be {height}x{width}, not {valid.shape}")
    if valid.mean() < MIN_VALID_SHARE:
        return Transform(method="identity: too little of the image is outside the mask")
    level = _level(reference, moving, valid, WORKING_SIDE)
    baseline = _residual(level, np.eye(2, 3))
    matrix, method = estimator(level)
    if matrix is None:
        return Transform(method=f"identity: {method}", residual=baseline)
    residual = _residual(level, matrix)
    if residual >= baseline:
        return Transform(method=f"identity: {method} did not improve on it", residual=baseline)
    found = Transform.from_matrix(matrix, (width, height), method, residual)
    if not _plausible(found, (width, height)):  # a wrong match that happened to fit the changed content better
        return Transform(method=f"identity: {method} found more drift than a model makes", residual=baseline)
    return found


def _plausible(transform: Transform, size: tuple[int, int]) -> bool:
    """Within what the models drift by: a shift of at most PLAUSIBLE_SHIFT of the longer side, a zoom of at
    most PLAUSIBLE_ZOOM and a turn of at most PLAUSIBLE_ROTATION degrees."""
    return (
        max(abs(transform.dx), abs(transform.dy)) <= PLAUSIBLE_SHIFT * max(size)
        and abs(transform.scale - 1) <= PLAUSIBLE_ZOOM
        and abs(transform.rotation) <= PLAUSIBLE_ROTATION
    )


def _sift(level: _Level) -> Guess:
    """SIFT matches, ratio-tested, and a RANSAC similarity (estimateAffinePartial2D)."""
    return _features(level, "SIFT")


def _orb(level: _Level) -> Guess:
    """ORB matches, ratio-tested, and a RANSAC similarity."""
    return _features(level, "ORB")


def _ecc(level: _Level) -> Guess:
    """ECC alone on every valid pixel: from the identity at a quarter of the working size, then at it."""
    small = _shrunk(level, 4)
    start = _ecc_refine(small, np.eye(2, 3), robust=False, iterations=100)
    refined = None if start is None else _ecc_refine(level, _to_level(_to_full(start, small.factor), level.factor))
    return (None, "ECC did not converge") if refined is None else (_to_full(refined, level.factor), "ECC")


def _phase(level: _Level) -> Guess:
    """Phase correlation over a coarse zoom search (the zoom with the strongest peak, refined by a parabola),
    then the shift at that zoom."""
    responses = [_phase_shift(level, scale)[1] for scale in SCALE_STEPS]
    best = int(np.argmax(responses))
    scale = float(SCALE_STEPS[best])
    if 0 < best < len(SCALE_STEPS) - 1:
        left, mid, right = responses[best - 1 : best + 2]
        curvature = left - 2 * mid + right
        if curvature < 0:
            scale += 0.5 * (left - right) / curvature * float(SCALE_STEPS[1] - SCALE_STEPS[0])
    shift, response = _phase_shift(level, scale)
    if not response >= PHASE_MIN_RESPONSE:  # also NaN, as on a flat picture
        return None, f"phase correlation peak too weak ({response:.3f})"
    matrix = cv2.getRotationMatrix2D(tuple(_centre(level.size)), 0.0, scale)
    matrix[:, 2] += shift
    return _to_full(matrix, level.factor), "phase correlation"


def _orb_or_phase(level: _Level) -> Guess:
    """ORB, or phase correlation when too few features agree (flat pictures, repeated patterns)."""
    matrix, reason = _orb(level)
    if matrix is not None:
        return matrix, reason
    matrix, why = _phase(level)
    return matrix, (why if matrix is not None else f"{reason}; {why}")


def _then_ecc(first: Estimator) -> Estimator:
    """`first` for the initial guess, then ECC (affine, reduced to a similarity) to refine it to sub-pixel,
    ignoring pixels whose residual after the guess is an outlier (text drawn over, content changed)."""

    def refine(level: _Level) -> Guess:
        guess, name = first(level)
        if guess is None:
            return None, name
        refined = _ecc_refine(level, _to_level(guess, level.factor))
        if refined is None:
            return guess, f"{name} (ECC did not converge)"
        return _to_full(refined, level.factor), f"{name}+ECC"

    return refine


ESTIMATORS: dict[str, Estimator] = {
    "phase correlation": _phase,
    "ECC": _ecc,
    "SIFT": _sift,
    "ORB": _orb,
    "phase correlation+ECC": _then_ecc(_phase),
    "SIFT+ECC": _then_ecc(_sift),
    "ORB+ECC": _then_ecc(_orb),
    "ORB or phase correlation, +ECC": _then_ecc(_orb_or_phase),
}
CHOSEN = "ORB or phase correlation, +ECC"


# --- helpers ---------------------------------------------------------------------------------------------


def _level(reference: np.ndarray, moving: np.ndarray, valid: np.ndarray, side: int) -> _Level:
    """Both images as standardised grey at long side `side` (never enlarged)."""
    height, width = reference.shape[:2]
    factor = min(1.0, side / max(width, height))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    factor = size[0] / width

    def shrink(image: np.ndarray, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
        return image if factor == 1.0 else cv2.resize(image, size, interpolation=interpolation)

    small_valid = shrink(valid.astype(np.uint8) * 255, cv2.INTER_NEAREST)
    return _Level(_grey(shrink(reference), small_valid), _grey(shrink(moving), small_valid), small_valid, factor)


def _shrunk(level: _Level, k: int) -> _Level:
    size = (max(1, level.size[0] // k), max(1, level.size[1] // k))
    factor = level.factor * size[0] / level.size[0]

    def shrink(image: np.ndarray, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
        return cv2.resize(image, size, interpolation=interpolation)

    return _Level(shrink(level.reference), shrink(level.moving), shrink(level.valid, cv2.INTER_NEAREST), factor)


def _grey(image: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Grey levels with each channel standardised over the valid pixels first, so a per-channel gain and offset
    (a tint, a colour cast) between the two images cancels out."""
    mean, std = cv2.meanStdDev(image, mask=valid)
    weights = 1 / (3 * np.maximum(std.ravel(), 1.0))
    mix = np.append(weights, -(weights * mean.ravel()).sum())[None, :]
    return cv2.transform(image.astype(np.float32), mix)


def _centre(size: tuple[int, int]) -> np.ndarray:
    return np.array([(size[0] - 1) / 2, (size[1] - 1) / 2])


def _to_full(matrix: Matrix, factor: float) -> Matrix:
    """A map found at a level of `factor` as the map at full size (pixel centres kept in place)."""
    return _rescaled(matrix, 1 / factor)


def _to_level(matrix: Matrix, factor: float) -> Matrix:
    return _rescaled(matrix, factor)


def _rescaled(matrix: Matrix, k: float) -> Matrix:
    # x_k = k (x + 0.5) - 0.5 between pixel-centre coordinates of two resolutions.
    to_k = np.array([[k, 0, 0.5 * k - 0.5], [0, k, 0.5 * k - 0.5], [0, 0, 1]])
    from_k = np.linalg.inv(to_k)
    full = np.vstack([matrix, [0, 0, 1]])
    return (to_k @ full @ from_k)[:2]


def _features(level: _Level, detector: str) -> Guess:
    """Matches of `detector` ("SIFT" or "ORB") features, ratio-tested, and a RANSAC similarity."""
    finder = cv2.SIFT_create() if detector == "SIFT" else cv2.ORB_create(ORB_FEATURES)
    norm = cv2.NORM_L2 if detector == "SIFT" else cv2.NORM_HAMMING
    ref8 = _to_uint8(level.reference)
    mov8 = _to_uint8(level.moving)
    ref_points, ref_desc = finder.detectAndCompute(ref8, level.valid)
    mov_points, mov_desc = finder.detectAndCompute(mov8, cv2.dilate(level.valid, np.ones((9, 9), np.uint8)))
    if ref_desc is None or mov_desc is None or len(ref_points) < MIN_INLIERS or len(mov_points) < MIN_INLIERS:
        return None, "too few features"
    pairs = cv2.BFMatcher(norm).knnMatch(ref_desc, mov_desc, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < MIN_INLIERS:
        return None, f"too few feature matches ({len(good)})"
    source = np.float32([ref_points[m.queryIdx].pt for m in good])
    target = np.float32([mov_points[m.trainIdx].pt for m in good])
    matrix, inliers = cv2.estimateAffinePartial2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX, maxIters=2000, confidence=0.999
    )
    count = 0 if inliers is None else int(inliers.sum())
    if matrix is None or count < MIN_INLIERS:
        return None, f"too few feature inliers ({count})"
    return _to_full(matrix.astype(np.float64), level.factor), detector


def _to_uint8(grey: np.ndarray) -> np.ndarray:
    return np.clip(grey * 48 + 128, 0, 255).astype(np.uint8)


def _ecc_refine(level: _Level, guess: Matrix, robust: bool = True, iterations: int = ECC_ITERATIONS) -> Matrix | None:
    """ECC from `guess` (a level's own map), on the valid pixels whose residual under the guess is not an
    outlier; None when it does not converge."""
    mask = level.valid
    if robust:
        warped = _warped(level.moving, guess)
        error = np.abs(level.reference - warped)
        chosen = error[mask > 0]
        sigma = 1.4826 * np.median(np.abs(chosen - np.median(chosen))) + 1e-3
        keep = (error < np.median(chosen) + OUTLIER_SIGMAS * sigma).astype(np.uint8) * 255
        keep = cv2.erode(keep, np.ones((5, 5), np.uint8))  # drop the rims of outlying shapes too
        mask = cv2.bitwise_and(mask, keep)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iterations, ECC_EPSILON)
    try:
        _, matrix = cv2.findTransformECCWithMask(
            level.reference,
            level.moving,
            mask,
            np.full(level.moving.shape, 255, np.uint8),
            guess.astype(np.float32),
            cv2.MOTION_AFFINE,
            criteria,
            5,
        )
    except cv2.error:
        return None
    if not np.all(np.isfinite(matrix)):
        return None
    return matrix.astype(np.float64)


def _warped(image: np.ndarray, matrix: Matrix) -> np.ndarray:
    height, width = image.shape[:2]
    return cv2.warpAffine(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )


def _phase_shift(level: _Level, scale: float) -> tuple[np.ndarray, float]:
    """The shift of the moving image once its zoom `scale` is undone, and the phase correlation's peak."""
    unzoom = cv2.getRotationMatrix2D(tuple(_centre(level.size)), 0.0, scale)
    moving = _warped(level.moving, unzoom)
    window = cv2.createHanningWindow(level.size, cv2.CV_32F)
    keep = (level.valid > 0).astype(np.float32)
    (dx, dy), response = cv2.phaseCorrelate(level.reference * keep, moving * keep, window)
    return np.array([dx, dy]) * scale, response


def _residual(level: _Level, matrix: Matrix) -> float:
    """Mean absolute grey difference over the valid pixels once the full-size `matrix` is undone."""
    warped = _warped(level.moving, _to_level(matrix, level.factor))
    return float(np.abs(level.reference - warped)[level.valid > 0].mean())
