"""Compare views: side by side and a difference heat map that shows what changed, and where."""

from PIL import Image, ImageDraw

from core.compare import aligned_input, difference_map, side_by_side


def _write(path, image):
    image.save(path)
    return str(path)


def test_an_unchanged_image_has_a_black_difference_map(tmp_path):
    source = _write(tmp_path / "in.png", Image.new("RGB", (600, 400), (90, 120, 200)))
    heat, mean = difference_map(source, source)
    assert mean == 0 and heat.getextrema() == ((0, 0), (0, 0), (0, 0))


def test_the_difference_map_lights_up_where_the_result_changed(tmp_path):
    base = Image.new("RGB", (600, 400), (90, 120, 200))
    source = _write(tmp_path / "in.png", base)
    changed = base.copy()
    ImageDraw.Draw(changed).rectangle([400, 250, 599, 399], fill=(250, 250, 20))
    result = _write(tmp_path / "out.png", changed)

    heat, mean = difference_map(source, result)
    assert heat.getpixel((500, 320)) != (0, 0, 0)  # the changed corner glows
    assert heat.getpixel((100, 100)) == (0, 0, 0)  # the rest stays dark
    assert 0 < mean < 0.2


def test_the_input_is_resampled_to_the_outputs_size_so_zoom_and_crop_show(tmp_path):
    source = _write(tmp_path / "in.png", Image.new("RGB", (600, 400), "red"))
    result = _write(tmp_path / "out.png", Image.new("RGB", (1024, 768), "red"))
    assert aligned_input(source, (1024, 768)).size == (1024, 768)
    pair = side_by_side(source, result, gap=8)
    assert pair.size == (2 * 1024 + 8, 768)
