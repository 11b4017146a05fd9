"""Scans: rasterise the digital PDF (pypdfium2) and degrade it as scanners, copiers, faxes and phone photos do.

Geometric operations are a smooth page warp (a curled or wavy sheet) followed by one 3x3 matrix per page (skew,
perspective, phone framing), applied once to the image and to every table cell's rectangle, so each cell's box in
the scan is known. Photometric operations (ink bleed or erosion, blur, noise, low contrast, uneven light, shadows,
dirty-drum streaks, dark photocopy borders and grey paper, salt-and-pepper, fax binarisation, JPEG) are recorded
with their parameters. Everything draws from one numpy Generator seeded per document.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import pypdfium2 as pdfium

from training.synth.image_pdf import jpeg_pages_to_pdf
from training.synth.render_pdf import PlacedCell

# The levels as issue #5 defines them: moderate is 150-200 DPI scanner noise; heavy is ink bleed, a bad photocopy
# or a phone photo, and (named profiles, below) a dirty drum's streaks, a dark bad copy, a warped sheet. Fax
# (binarised at about 200x100 lines per inch) is harsher still: an extra level, asked for by name.
LEVELS = ("light", "moderate", "heavy")
EXTRA_LEVELS = ("fax",)
PROFILES = {"light": (["scanner"], [1]),
            "moderate": (["scanner"], [1]),
            "heavy": (["scanner", "copier", "phone"], [2, 4, 4]),
            "fax": (["fax"], [1])}
# Profiles added later, each on the base of a drawn one: "drum" a scan with a dirty drum's streaks (vertical and
# horizontal lines through text and off the tables), "dark_copy" a copy on grey mottled paper with black borders,
# "warped" a scan of a sheet that does not lie flat. A drawn heavy scan or copy takes one on its base by
# NAMED_CHANCE, from a generator of its own: every other document is drawn exactly as before they existed.
NAMED_PROFILES = {"heavy": ["drum", "dark_copy", "warped"]}
BASE_PROFILE = {"drum": "scanner", "dark_copy": "copier", "warped": "scanner"}
NAMED_CHANCE = 0.5
DPIS = {"light": [200, 240, 300], "moderate": [150, 200], "heavy": [120, 150, 200], "fax": [100, 150, 200]}


@dataclass
class Curl:
    """A smooth page warp in clean-raster pixels: the scan at q shows the sheet at q + d(q).

    d bends rows (a wave across the page and a bulge growing towards the side edges, as a curled or creased sheet
    lies) and columns (a gentler wave down the page)."""
    w: int
    h: int
    wave_y: float  # px
    freq_y: float
    phase_y: float
    bulge: float  # px at the side edges
    centre: float  # 0..1 across the page
    wave_x: float
    freq_x: float
    phase_x: float

    def displacement(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, v = x / self.w, y / self.h
        dy = self.wave_y * np.sin(2 * np.pi * self.freq_y * u + self.phase_y) \
            + self.bulge * ((u - self.centre) ** 2) * (2 * v - 1)
        dx = self.wave_x * np.sin(2 * np.pi * self.freq_x * v + self.phase_x)
        return dx, dy

    def apply(self, img: np.ndarray, border) -> np.ndarray:
        yy, xx = np.mgrid[0:self.h, 0:self.w].astype(np.float32)
        dx, dy = self.displacement(xx, yy)
        return cv2.remap(img, (xx + dx).astype(np.float32), (yy + dy).astype(np.float32), cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=border)

    def forward(self, pts: np.ndarray) -> np.ndarray:
        """Where sheet points (N x 2, pixels) appear in the warped image: solve q + d(q) = p by fixed point."""
        q = pts.astype(np.float64).copy()
        for _ in range(6):
            dx, dy = self.displacement(q[:, 0], q[:, 1])
            q = pts - np.stack([dx, dy], axis=1)
        return q

    def as_op(self) -> dict:
        return {"op": "page_warp", "wave_px": round(self.wave_y, 1), "bulge_px": round(self.bulge, 1),
                "column_wave_px": round(self.wave_x, 1)}


@dataclass
class ScanPage:
    jpeg: bytes
    width: int
    height: int
    gray: bool
    matrix: np.ndarray  # 3x3, clean-raster pixels (after the curl) -> scan pixels
    scale: float  # clean-raster pixels per PDF point
    curl: Curl | None = None
    ops: list[dict] = field(default_factory=list)

    def to_scan(self, pts: np.ndarray) -> np.ndarray:
        """PDF points (N x 2, top-left origin) -> scan pixels."""
        q = pts.astype(np.float64) * self.scale
        if self.curl is not None:
            q = self.curl.forward(q)
        q = np.hstack([q, np.ones((len(q), 1))]) @ self.matrix.T
        return q[:, :2] / q[:, 2:3]


@dataclass
class ScanResult:
    pdf: bytes
    dpi: int
    level: str
    profile: str
    pages: list[ScanPage]
    cells: list[dict]

    def degradation(self) -> dict:
        return {"level": self.level, "dpi": self.dpi, "profile": self.profile,
                "ops": [{"page": i + 1, **op} for i, p in enumerate(self.pages) for op in p.ops]}


def rasterise(pdf: bytes, dpi: int) -> list[np.ndarray]:
    """Pages as BGR uint8 arrays (pdfium's native byte order, as OpenCV wants it)."""
    doc = pdfium.PdfDocument(pdf)
    out = []
    for page in doc:
        bitmap = page.render(scale=dpi / 72.0, grayscale=False)
        out.append(np.ascontiguousarray(bitmap.to_numpy()[:, :, :3]))
    doc.close()
    return out


def _r(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _geometry(rng: np.random.Generator, w: int, h: int, level: str, profile: str) -> tuple[np.ndarray, list[dict]]:
    """One homography for the page: rotation about the centre, small shift, perspective for phone photos."""
    ops = []
    max_deg = {"light": 0.6, "moderate": 1.5, "heavy": 3.0}[level]
    deg = _r(rng, -max_deg, max_deg)
    shift = (_r(rng, -0.01, 0.01) * w, _r(rng, -0.01, 0.01) * h)
    scale = 1.0
    if profile == "phone":
        scale = _r(rng, 0.82, 0.95)
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), deg, scale)
    rot[0, 2] += shift[0]
    rot[1, 2] += shift[1]
    m = np.vstack([rot, [0, 0, 1]])
    ops.append({"op": "skew", "degrees": round(deg, 3), "shift_px": [round(shift[0], 1), round(shift[1], 1)],
                "scale": round(scale, 3)})
    if profile == "phone" or (level == "heavy" and rng.random() < 0.3):
        k = {"light": 0.005, "moderate": 0.02, "heavy": 0.045}[level]
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = src + np.float32(rng.uniform(-k, k, (4, 2)) * [w, h])
        p = cv2.getPerspectiveTransform(src, dst)
        m = p @ m
        ops.append({"op": "perspective", "corner_jitter": round(k, 4)})
    return m, ops


def _background(rng: np.random.Generator, profile: str) -> tuple[int, int, int]:
    if profile == "phone":
        base = rng.integers(40, 120)
        return (int(base * 0.7), int(base * 0.85), int(base))  # a wooden desk under the page (BGR)
    if profile == "copier":
        return (30, 30, 30) if rng.random() < 0.3 else (235, 235, 235)
    return (255, 255, 255)


FIELD_STEP = 8  # light fields are smooth: compute them on a coarse grid and scale up (full size costs seconds)


def _illumination(rng: np.random.Generator, h: int, w: int, strength: float) -> np.ndarray:
    sh, sw = max(2, h // FIELD_STEP), max(2, w // FIELD_STEP)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    gx, gy = rng.uniform(-1, 1, 2)
    ramp = gx * (xx / sw - 0.5) + gy * (yy / sh - 0.5)
    cx, cy = rng.uniform(0.2, 0.8) * sw, rng.uniform(0.2, 0.8) * sh
    radial = ((xx - cx) ** 2 + (yy - cy) ** 2) / (sw * sw + sh * sh)
    light = np.clip(1.0 - strength * (0.5 * (ramp - ramp.min()) + radial), 0.3, 1.0).astype(np.float32)
    return cv2.resize(light, (w, h), interpolation=cv2.INTER_LINEAR)


def _shadow(rng: np.random.Generator, h: int, w: int, strength: float) -> np.ndarray:
    """A soft dark region from one edge, like a hand or phone shadow."""
    sh, sw = max(2, h // FIELD_STEP), max(2, w // FIELD_STEP)
    mask = np.zeros((sh, sw), np.float32)
    edge = rng.integers(0, 4)
    depth = rng.uniform(0.08, 0.3)
    if edge == 0:
        mask[:, : int(sw * depth)] = 1
    elif edge == 1:
        mask[:, int(sw * (1 - depth)):] = 1
    elif edge == 2:
        mask[: int(sh * depth), :] = 1
    else:
        mask[int(sh * (1 - depth)):, :] = 1
    k = int(max(sw, sh) * 0.08) | 1
    mask = cv2.GaussianBlur(mask, (k, k), 0)
    return cv2.resize(1.0 - strength * mask, (w, h), interpolation=cv2.INTER_LINEAR)


def _curl(rng: np.random.Generator, w: int, h: int) -> Curl:
    """A sheet that does not lie flat: rows bend by up to about 1% of the page height."""
    k = 0.011
    return Curl(w, h, wave_y=_r(rng, 0.3, 1.0) * k * h * rng.choice([-1, 1]), freq_y=_r(rng, 0.4, 1.2),
                phase_y=_r(rng, 0, 2 * np.pi), bulge=_r(rng, 0.5, 1.5) * k * h * rng.choice([-1, 1]),
                centre=_r(rng, 0.3, 0.7), wave_x=_r(rng, 0.2, 0.6) * k * w * rng.choice([-1, 1]),
                freq_x=_r(rng, 0.3, 0.9), phase_x=_r(rng, 0, 2 * np.pi))


def _drum_streaks(work: np.ndarray, rng: np.random.Generator, dpi: int) -> list[dict]:
    """A dirty drum prints lines down (and a few across) the whole sheet: through text, past the tables, in any
    grey, broken here and there. They lie in the sheet's frame, parallel to the table rules (in place)."""
    h, w = work.shape[:2]
    ops = []
    for axis, count in ((0, int(rng.integers(2, 7))), (1, int(rng.integers(0, 3)))):
        length = h if axis == 0 else w
        for _ in range(count):
            pos = int(rng.integers(0, w if axis == 0 else h))
            width = int(rng.integers(1, max(2, dpi // 100) + 2))
            tone = _r(rng, 0.25, 0.75)  # share of the paper's light the streak takes away
            keep = np.ones(length, bool)
            start = int(rng.integers(0, length // 3)) if rng.random() < 0.4 else 0
            keep[:start] = False
            for _ in range(int(rng.integers(0, 6))):  # worn patches where the line fades out
                a = int(rng.integers(0, length))
                keep[a:a + int(rng.integers(dpi // 20, dpi // 2))] = False
            wobble = np.cumsum(rng.standard_normal(length)) * 0.02  # drifts a pixel or two over the page
            for d in range(width):
                idx = np.flatnonzero(keep)
                off = np.clip(pos + d + np.round(wobble[idx]).astype(int), 0, (w if axis == 0 else h) - 1)
                if axis == 0:
                    work[idx, off] = (work[idx, off] * (1 - tone)).astype(work.dtype)
                else:
                    work[off, idx] = (work[off, idx] * (1 - tone)).astype(work.dtype)
            ops.append({"op": "drum_streak", "axis": "vertical" if axis == 0 else "horizontal", "at": pos,
                        "width": width, "tone": round(tone, 2)})
    return ops


def _dark_copy(f: np.ndarray, rng: np.random.Generator, dpi: int) -> tuple[np.ndarray, list[dict]]:
    """A dark bad photocopy: grey, mottled paper (toner haze), black borders where the copier saw past the sheet."""
    h, w = f.shape[:2]
    paper = _r(rng, 140, 205)
    black = _r(rng, 0, 35)
    f = black + f * (paper - black) / 255.0
    sh, sw = max(2, h // 32), max(2, w // 32)
    haze = cv2.resize(rng.standard_normal((sh, sw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    f = f + haze * _r(rng, 6, 18)
    ops = [{"op": "grey_paper", "paper": round(paper, 1), "black": round(black, 1)}]
    sides = [s for s in range(4) if rng.random() < 0.6] or [int(rng.integers(0, 4))]
    for side in sides:
        depth = max(2, int((w if side < 2 else h) * _r(rng, 0.01, 0.05)))
        ragged = np.clip(depth + np.cumsum(rng.standard_normal(h if side < 2 else w)) * 0.5, 1, 2 * depth)
        tone = _r(rng, 10, 70)
        n = h if side < 2 else w
        for i in range(n):
            d = int(ragged[i])
            if side == 0:
                f[i, :d] = tone
            elif side == 1:
                f[i, w - d:] = tone
            elif side == 2:
                f[:d, i] = tone
            else:
                f[h - d:, i] = tone
    ops.append({"op": "dark_border", "sides": sides})
    return f, ops


def degrade(img: np.ndarray, rng: np.random.Generator, level: str, profile: str, dpi: int, first_page: bool = False,
            extra: np.random.Generator | None = None) -> tuple[np.ndarray, Curl | None, np.ndarray, list[dict], bool, int]:
    """Returns (matrix from warped clean pixels to scan pixels, curl, image, ops, gray, jpeg quality).

    `extra` draws what the named profiles add (streaks, warps, dark copies), so that `rng` draws exactly what it
    drew before they existed."""
    extra = extra if extra is not None else rng
    named = profile if profile in BASE_PROFILE else None
    profile = BASE_PROFILE.get(profile, profile)
    h, w = img.shape[:2]
    ops: list[dict] = []
    strength = {"light": 0.3, "moderate": 0.6, "heavy": 1.0}[level]
    gray = profile != "phone"
    work = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if gray else img.copy()

    # Ink: toner bleed thickens strokes, a dry cartridge erodes them.
    if rng.random() < 0.3 + 0.4 * strength:
        size = 2 if dpi >= 200 and rng.random() < strength else 1
        kernel = np.ones((size + 1, size + 1), np.uint8)
        # At low DPI strokes are a pixel wide: erosion would wipe them out, so only bleed there.
        if rng.random() < 0.6 or dpi < 200:
            work = cv2.erode(work, kernel)  # dark grows on white paper
            ops.append({"op": "ink_bleed", "kernel": size + 1})
        else:
            # A dry cartridge thins strokes; wider than 2 px would wipe out thin serif strokes altogether.
            work = cv2.dilate(work, np.ones((2, 2), np.uint8))
            ops.append({"op": "ink_erosion", "kernel": 2})

    # Paper: the back page showing through, a staple in the corner (before geometry: they are on the sheet).
    if profile in ("scanner", "copier") and level != "light" and rng.random() < 0.3:
        alpha = _r(rng, 0.03, 0.09)
        back = cv2.GaussianBlur(cv2.flip(work, 1), (0, 0), 1.5 * dpi / 200)  # diffused through the paper
        dark = (255 - work.astype(np.float32)) + alpha * (255 - back.astype(np.float32))
        work = (255 - np.clip(dark, 0, 255)).astype(np.uint8)
        ops.append({"op": "show_through", "alpha": round(alpha, 3)})
    if first_page and rng.random() < 0.25:
        x0, y0 = int(w * _r(rng, 0.03, 0.08)), int(h * _r(rng, 0.02, 0.05))
        length, tone = int(dpi * 0.45), int(rng.integers(60, 140))
        ang = _r(rng, 0.5, 1.0)
        x1, y1 = int(x0 + length * np.cos(ang)), int(y0 - length * np.sin(ang) * 0.3)
        cv2.line(work, (x0, y0), (x1, y1), (tone,) * (1 if gray else 3), max(2, dpi // 40))
        ops.append({"op": "staple"})

    if named == "drum":
        ops += _drum_streaks(work, extra, dpi)

    # Geometry (a smooth warp, then one matrix), background where the page left the frame.
    m, geo_ops = _geometry(rng, w, h, level, profile)
    bg = _background(rng, profile)
    border = bg[0] if gray else bg
    curl = _curl(extra, w, h) if named == "warped" else None
    if curl is not None:
        work = curl.apply(work, border)
        ops.append(curl.as_op())
    ops += geo_ops
    work = cv2.warpPerspective(work, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=border)

    # Scanner lid: a dark band along one or two edges of the bed.
    if profile == "scanner" and rng.random() < 0.2 + 0.2 * strength:
        tone = int(rng.integers(20, 110))
        for side in rng.choice(4, size=int(rng.integers(1, 3)), replace=False):
            band = max(2, int((w if side < 2 else h) * _r(rng, 0.004, 0.02)))
            sl = [(slice(None), slice(0, band)), (slice(None), slice(w - band, w)),
                  (slice(0, band), slice(None)), (slice(h - band, h), slice(None))][int(side)]
            work[sl] = tone
        ops.append({"op": "edge_shadow", "tone": tone})

    if profile == "fax":
        work, fax_ops = _fax(work, rng, w, h, dpi)
        ops += fax_ops
        return (m, curl, *_finish(work, rng, level, ops, gray, w, strength, profile))

    f = work.astype(np.float32)
    if named == "dark_copy":
        f, copy_ops = _dark_copy(f, extra, dpi)
        ops += copy_ops
    # Paper and contrast: grey paper, faded toner.
    if rng.random() < 0.4 + 0.5 * strength:
        lo = _r(rng, 0, 60 * strength)
        hi = 255 - _r(rng, 0, 45 * strength)
        f = lo + f * (hi - lo) / 255.0
        ops.append({"op": "low_contrast", "black": round(lo, 1), "white": round(hi, 1)})
    if not gray and rng.random() < 0.8:
        tint = np.array([_r(rng, 0.8, 0.95), _r(rng, 0.9, 1.0), _r(rng, 0.97, 1.05)], np.float32)  # B, G, R: warm light
        f = f * tint
        ops.append({"op": "color_cast", "bgr": [round(float(t), 3) for t in tint]})
    # Uneven illumination and shadows.
    if profile in ("phone", "copier") or rng.random() < 0.5 * strength:
        light = _illumination(rng, h, w, _r(rng, 0.1, 0.5) * strength + (0.2 if profile == "phone" else 0))
        if profile == "phone" and rng.random() < 0.6:
            light = light * _shadow(rng, h, w, _r(rng, 0.2, 0.5))
            ops.append({"op": "shadow"})
        f = f * (light if gray else light[:, :, None])
        ops.append({"op": "uneven_illumination"})
    # Blur: optics, focus, motion.
    if rng.random() < 0.4 + 0.5 * strength:
        sigma = _r(rng, 0.3, 0.7 + 1.0 * strength) * dpi / 200
        f = cv2.GaussianBlur(f, (0, 0), sigma)
        ops.append({"op": "blur", "sigma": round(sigma, 3)})
    # Sensor noise.
    if rng.random() < 0.5 + 0.5 * strength:
        sigma = _r(rng, 1, 4 + 10 * strength)
        f = f + rng.standard_normal(f.shape, dtype=np.float32) * np.float32(sigma)
        ops.append({"op": "noise", "sigma": round(sigma, 2)})
    out = np.clip(f, 0, 255).astype(np.uint8)
    return (m, curl, *_finish(out, rng, level, ops, gray, w, strength, profile))


def _fax(work: np.ndarray, rng: np.random.Generator, w: int, h: int, dpi: int) -> tuple[np.ndarray, list[dict]]:
    """Fax: about 200x100 lines per inch, a hard threshold, then back to the page size (blocky, pure black/white)."""
    fx, fy = min(1.0, 200 / dpi), min(1.0, 100 / dpi)
    small = cv2.resize(work, (max(1, int(w * fx)), max(1, int(h * fy))), interpolation=cv2.INTER_AREA)
    noisy = small.astype(np.float32) + rng.standard_normal(small.shape, dtype=np.float32) * np.float32(12)
    thr = int(rng.integers(215, 242))  # thin strokes average to light grey at fax resolution
    small = np.where(noisy > thr, 255, 0).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST), [
        {"op": "fax_binarise", "threshold": thr, "lines_per_inch": [round(dpi * fx), round(dpi * fy)]}]


def _finish(out: np.ndarray, rng: np.random.Generator, level: str, ops: list[dict], gray: bool, w: int,
            strength: float, profile: str) -> tuple[np.ndarray, list[dict], bool, int]:
    # Dust and toner specks.
    if level != "light" and rng.random() < 0.3 + 0.5 * strength:
        p = _r(rng, 0.00002, 0.0004 * strength)
        u = rng.random(out.shape[:2], dtype=np.float32)
        out[u < p / 2] = 0
        out[u > 1 - p / 2] = 255
        ops.append({"op": "salt_pepper", "p": round(p, 5)})
    # Copier streaks.
    if profile == "copier" and rng.random() < 0.5:
        for _ in range(int(rng.integers(1, 4))):
            x = int(rng.integers(0, w))
            width = int(rng.integers(1, 4))
            out[:, x:x + width] = (out[:, x:x + width] * _r(rng, 0.5, 0.85)).astype(np.uint8)
        ops.append({"op": "streaks"})
    quality = int({"light": rng.integers(75, 93), "moderate": rng.integers(50, 80),
                   "heavy": rng.integers(25, 55)}[level])
    ops.append({"op": "jpeg", "quality": quality})
    return out, ops, gray, quality


def _encode(img: np.ndarray, gray: bool, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def transform_box(page: ScanPage, x: float, y: float, w: float, h: float) -> list[float]:
    """Axis-aligned box around the transformed rectangle (its edges sampled: a warp bends them), clipped."""
    t = np.linspace(0.0, 1.0, 5)
    pts = np.concatenate([np.stack([x + w * t, np.full(5, y)], 1), np.stack([x + w * t, np.full(5, y + h)], 1),
                          np.stack([np.full(5, x), y + h * t], 1), np.stack([np.full(5, x + w), y + h * t], 1)])
    q = page.to_scan(pts)
    width, height = page.width, page.height
    x0, y0 = max(0.0, float(q[:, 0].min())), max(0.0, float(q[:, 1].min()))
    x1, y1 = min(float(width), float(q[:, 0].max())), min(float(height), float(q[:, 1].max()))
    return [round(x0, 1), round(y0, 1), round(max(0.0, x1 - x0), 1), round(max(0.0, y1 - y0), 1)]


def scan(pdf: bytes, cells: list[PlacedCell], rng: np.random.Generator, level: str, dpi: int | None = None,
         profile: str | None = None) -> ScanResult:
    """`profile` (one of the level's, named ones included) is drawn by the level's weights unless given."""
    names, weights = PROFILES[level]
    extra = rng.spawn(1)[0]  # spawning leaves rng's own stream as it was
    drawn = str(rng.choice(names, p=np.array(weights) / sum(weights)))
    # A drawn scan or copy may turn into one of the named profiles on its base (a photo stays a photo).
    named = [n for n in NAMED_PROFILES.get(level, []) if BASE_PROFILE[n] == drawn]
    if profile is None and named and extra.random() < NAMED_CHANCE:
        profile = str(extra.choice(named))
    profile = profile or drawn
    if dpi is None:
        dpi = int(rng.choice(DPIS[level]))
    strength = "heavy" if level == "fax" else level   # how hard every other operation hits
    pages = []
    for i, img in enumerate(rasterise(pdf, dpi)):
        m, curl, out, ops, gray, quality = degrade(img, rng, strength, profile, dpi, first_page=i == 0, extra=extra)
        h, w = out.shape[:2]
        if w > h and rng.random() < 0.35:
            # A landscape page fed in portrait: the scan comes out turned a quarter.
            if rng.random() < 0.5:
                out, turn = cv2.rotate(out, cv2.ROTATE_90_CLOCKWISE), np.array([[0, -1, h], [1, 0, 0], [0, 0, 1]])
                ops.insert(-1, {"op": "rotate90", "direction": "clockwise"})
            else:
                out, turn = cv2.rotate(out, cv2.ROTATE_90_COUNTERCLOCKWISE), np.array([[0, 1, 0], [-1, 0, w], [0, 0, 1]])
                ops.insert(-1, {"op": "rotate90", "direction": "counterclockwise"})
            m = turn @ m
            h, w = out.shape[:2]
        pages.append(ScanPage(_encode(out, gray, quality), w, h, gray, m, dpi / 72.0, curl, ops))
    pdf_bytes = jpeg_pages_to_pdf([(p.jpeg, p.width, p.height, dpi, p.gray) for p in pages])
    out_cells = []
    for c in cells:
        p = pages[c.page - 1]
        out_cells.append({"page": c.page, "box": transform_box(p, c.x, c.y, c.w, c.h),
                          "text": c.text, "key": c.key})
    return ScanResult(pdf=pdf_bytes, dpi=dpi, level=level, profile=profile, pages=pages, cells=out_cells)


def cells_json(result: ScanResult) -> dict:
    return {"pages": [{"page": i + 1, "width": p.width, "height": p.height, "dpi": result.dpi}
                      for i, p in enumerate(result.pages)],
            "cells": result.cells}
