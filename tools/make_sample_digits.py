"""Make the sample digit images shipped in course_utils/sample_digits (run from the course folder).

    .venv/bin/python tools/make_sample_digits.py

Each digit is drawn with one of matplotlib's fonts (slanted ones look the most like handwriting), slightly
rotated and placed off-centre on a canvas of its own size, then made to look photographed or scanned: paper
or board colour, uneven lighting, paper texture and noise, blur; colour photos saved as JPEG, grey scans as
PNG. Half are dark ink on light
paper, the rest light on dark. A fixed seed makes the same images every time (JPEG bytes may differ between
libjpeg versions). The file names carry the true digit: ``digit_<label>_<polarity>.<png|jpg>``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

SEED = 2024
FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
OUTPUT = Path(__file__).resolve().parents[1] / "course_utils" / "sample_digits"
MAX_BYTES = 30_000

# (digit, polarity, font, file type, look)
SPECS = [
    (0, "dark-on-light", "DejaVuSans-Oblique.ttf", "png", "pencil"),
    (1, "dark-on-light", "DejaVuSans-Oblique.ttf", "jpg", "blue pen"),
    (2, "dark-on-light", "STIXGeneralItalic.ttf", "png", "black pen"),
    (3, "dark-on-light", "DejaVuSerif-Italic.ttf", "jpg", "blue pen"),
    (4, "dark-on-light", "DejaVuSans-BoldOblique.ttf", "png", "marker"),
    (5, "dark-on-light", "STIXGeneralBolIta.ttf", "jpg", "black pen"),
    (6, "dark-on-light", "DejaVuSans-BoldOblique.ttf", "jpg", "pencil"),
    (7, "dark-on-light", "DejaVuSans-Oblique.ttf", "png", "blue pen"),
    (8, "dark-on-light", "STIXGeneralItalic.ttf", "jpg", "marker"),
    (9, "dark-on-light", "DejaVuSerif-Italic.ttf", "png", "black pen"),
    (0, "light-on-dark", "STIXGeneralBolIta.ttf", "jpg", "chalk"),
    (2, "light-on-dark", "DejaVuSans-BoldOblique.ttf", "png", "white on black"),
    (3, "light-on-dark", "DejaVuSans-Oblique.ttf", "jpg", "chalk"),
    (5, "light-on-dark", "DejaVuSerif-Italic.ttf", "png", "white on black"),
    (7, "light-on-dark", "STIXGeneralItalic.ttf", "jpg", "chalk"),
    (9, "light-on-dark", "DejaVuSans-BoldOblique.ttf", "jpg", "white on black"),
]

# look -> (paper RGB, ink RGB): the centre values; each image varies them a little
LOOKS = {
    "pencil": ((232, 228, 214), (85, 85, 92)),
    "blue pen": ((238, 236, 228), (35, 50, 130)),
    "black pen": ((225, 228, 232), (30, 30, 34)),
    "marker": ((245, 242, 232), (20, 22, 28)),
    "chalk": ((42, 62, 52), (222, 226, 216)),
    "white on black": ((24, 24, 28), (236, 236, 236)),
}


def glyph_mask(digit: int, font_file: str, height: int, angle: float) -> Image.Image:
    """The digit as an 8-bit coverage mask, ``height`` pixels tall, rotated by ``angle`` degrees."""
    font = ImageFont.truetype(str(FONTS / font_file), size=int(height * 1.4))
    left, top, right, bottom = font.getbbox(str(digit))
    scale = height / (bottom - top)
    font = ImageFont.truetype(str(FONTS / font_file), size=max(8, int(height * 1.4 * scale)))
    left, top, right, bottom = font.getbbox(str(digit))
    pad = height // 4
    mask = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(mask).text((pad - left, pad - top), str(digit), font=font, fill=255)
    return mask.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)


def photographed(mask: np.ndarray, look: str, rng: np.random.Generator) -> np.ndarray:
    """Ink (coverage ``mask`` in [0, 1]) on paper, with lighting, texture, noise and blur: uint8 RGB."""
    h, w = mask.shape
    paper, ink = (np.array(c, dtype=float) + rng.uniform(-8, 8, 3) for c in LOOKS[look])
    # Ink is never perfectly even: pencil and chalk leave gaps.
    grain = {"pencil": 0.25, "chalk": 0.35}.get(look, 0.08)
    coverage = mask * np.clip(1 - grain * rng.random((h, w)), 0, 1)
    image = paper * (1 - coverage[..., None]) + ink * coverage[..., None]
    # Uneven light: a gradient in a random direction, and a darker corner.
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    gradient = 1 - rng.uniform(0.12, 0.25) * (ramp - ramp.min()) / np.ptp(ramp)
    cy, cx = rng.uniform(0, 1, 2) * (h / max(h, w), w / max(h, w))
    vignette = 1 - rng.uniform(0.05, 0.15) * ((yy - cy) ** 2 + (xx - cx) ** 2)
    image = image * (gradient * vignette)[..., None]
    # Paper texture (soft blotches) and sensor noise.
    texture = ndimage.gaussian_filter(rng.normal(0, 1, (h, w)), 6) * 40
    image = image + texture[..., None] + rng.normal(0, 2.0, (h, w, 1))
    out = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB")
    return np.asarray(out.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.2))))


def make_image(digit: int, font: str, look: str, rng: np.random.Generator) -> Image.Image:
    width, height = (int(v) for v in rng.integers(200, 340, 2))
    glyph = glyph_mask(digit, font, int(rng.uniform(0.45, 0.7) * height), rng.uniform(-8, 8))
    canvas = Image.new("L", (width, height), 0)
    gw, gh = glyph.size
    x = int(rng.integers(0, max(1, width - gw)))
    y = int(rng.integers(0, max(1, height - gh)))
    canvas.paste(glyph, (x, y), glyph)
    return Image.fromarray(photographed(np.asarray(canvas) / 255.0, look, rng))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"folder to write to (default {OUTPUT})")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    for old in args.output.glob("digit_*"):
        old.unlink()
    for index, (digit, polarity, font, kind, look) in enumerate(SPECS):
        rng = np.random.default_rng([SEED, index])
        image = make_image(digit, font, look, rng)
        path = args.output / f"digit_{digit}_{polarity}.{kind}"
        if kind == "jpg":
            image.save(path, format="JPEG", quality=85)
        else:  # a grey scan with 64 grey levels, as cheap scanners save them: small files
            image.convert("L").point(lambda v: v // 4 * 4).save(path, format="PNG", optimize=True)
        size = path.stat().st_size
        print(f"{path.name:32} {image.size[0]}x{image.size[1]} {font:28} {look:15} {size / 1000:.1f} kB")
        if size > MAX_BYTES:
            raise SystemExit(f"{path} is {size} bytes, over {MAX_BYTES}: make it smaller or less noisy")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
