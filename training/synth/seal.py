"""The red official seal (公章) stamped over the signature: a ring, a star, the agency name along the arc.

Drawn as an image (PIL), as offices paste a scanned seal into the PDF, so it adds no text to the text layer.
"""
from __future__ import annotations

import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from training.synth.fonts import WQY


def seal_image(agency: str, rng: random.Random, size: int = 300) -> Image.Image:
    """RGBA image of a round seal; ink is uneven, as a real stamp."""
    img = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(img)
    c = size / 2
    ring = size * 0.035
    d.ellipse([ring, ring, size - ring, size - ring], outline=255, width=int(ring))
    # Five-pointed star in the middle.
    r_out, r_in = size * 0.14, size * 0.055
    pts = []
    for k in range(10):
        r = r_out if k % 2 == 0 else r_in
        a = -math.pi / 2 + k * math.pi / 5
        pts.append((c + r * math.cos(a), c + r * math.sin(a)))
    d.polygon(pts, fill=255)
    # The name along the upper arc, each character rotated to face the centre.
    font = ImageFont.truetype(str(WQY), int(size * 0.12), index=0)
    text = agency[:16]
    span = min(260.0, 30.0 * len(text))
    radius = size * 0.34
    for i, ch in enumerate(text):
        ang = -90 - span / 2 + span * (i + 0.5) / len(text)
        glyph = Image.new("L", (int(size * 0.16), int(size * 0.16)), 0)
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, fill=255, font=font, anchor="mm")
        glyph = glyph.rotate(-(ang + 90), resample=Image.BICUBIC, expand=True)
        x = c + radius * math.cos(math.radians(ang)) - glyph.width / 2
        y = c + radius * math.sin(math.radians(ang)) - glyph.height / 2
        img.paste(255, (int(x), int(y)), glyph)
    # Uneven ink: multiply by smooth noise, a little blur.
    gen = np.random.default_rng(rng.randrange(2**32))
    coarse = Image.fromarray((gen.random((size // 8, size // 8)) * 255).astype(np.uint8))
    noise = np.asarray(coarse.resize((size, size), Image.BILINEAR), np.float32)
    # Ink gaps, coarser than a pixel (also keeps the embedded image small).
    speck = np.kron(gen.random((size // 3 + 1, size // 3 + 1)) > 0.06, np.ones((3, 3)))[:size, :size]
    alpha = np.asarray(img, np.float32) * np.clip(noise / 128.0, 0.35, 1.0) * speck * rng.uniform(0.65, 0.9)
    alpha_img = Image.fromarray(alpha.astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))
    red = (int(rng.uniform(200, 235)), int(rng.uniform(20, 60)), int(rng.uniform(30, 60)))
    out = Image.new("RGBA", (size, size), red + (0,))
    out.putalpha(alpha_img)
    return out.rotate(rng.uniform(-15, 15), resample=Image.BICUBIC)
