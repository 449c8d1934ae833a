"""Every file the window writes goes through the output guard: never over an input.

A person answers each save dialog with the path of a file the window has open (the
association, the science exposure, through a link): the window must refuse with an error
box, write nothing, and leave the input byte for byte as it was.
"""

import pytest
from gui_helpers import wait_for_result

from badpix_inspector.gui import create_main_window

WRITERS = ["export_parameters", "export_edits", "export_mask", "export_regions",
           "export_markers", "png_combined", "png_difference", "save_session"]


@pytest.fixture
def private_window(qtbot, settings_dir, cache, small_copy, dialogs):
    """The window on a private copy of the small association (free to damage)."""
    folder, association = small_copy
    made = create_main_window([association])
    made.interactive = True
    qtbot.addWidget(made)
    made.resize(1400, 900)
    made.show()
    qtbot.waitExposed(made)
    wait_for_result(qtbot, made)
    yield made, folder, association
    dialogs.buttons[:] = ["discard"] * 3
    made.close()


@pytest.mark.parametrize("action", WRITERS)
@pytest.mark.parametrize("target", ["association", "science", "link"])
def test_no_export_replaces_an_input(private_window, dialogs, excepthook, digests, action,
                                     target, tmp_path):
    window, folder, association = private_window
    science = window.session.science_entry.exposure.path
    if target == "link":
        link = tmp_path / "innocent.fits"
        link.symlink_to(science)
        path = link
    else:
        path = association if target == "association" else science
    before = digests(folder)
    dialogs.save_paths.append(path)
    window.named_actions[action].trigger()
    assert digests(folder) == before
    assert dialogs.errors, f"{action} onto the {target} was not refused"
    _title, text = dialogs.errors[-1]
    assert "input" in text, text
    assert not excepthook.errors


def test_products_are_never_written_over_the_inputs(private_window, dialogs, digests):
    window, folder, _association = private_window
    before = digests(folder)
    # The products' names differ from the inputs', so the folder itself is fine ...
    dialogs.folders.append(folder)
    window.named_actions["save"].trigger()
    after = digests(folder)
    assert {name: digest for name, digest in after.items() if name in before} == before
    assert any(name.endswith("_badpix_selfcal.fits") for name in after)


def test_the_screenshot_option_refuses_an_input(small_copy, tmp_path):
    import subprocess
    import sys

    folder, association = small_copy
    science = next(folder.glob("*00001*_rate.fits"))
    before = science.read_bytes()
    run = subprocess.run(
        [sys.executable, "-c", "import sys; from badpix_inspector.gui import main; "
         "sys.exit(main(sys.argv[1:]))", str(association), "--screenshot", str(science)],
        capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen",
             "XDG_CONFIG_HOME": str(tmp_path / "config"),
             "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "input" in run.stderr and "Traceback" not in run.stderr
    assert science.read_bytes() == before


def test_a_panel_png_from_its_right_click_menu_never_replaces_an_input(
        qtbot, private_window, dialogs, excepthook, digests, tmp_path):
    from display_helpers import RIGHT, click, view_to_widget

    window, folder, _association = private_window
    science = window.session.science_entry.exposure.path
    link = tmp_path / "difference.png"
    link.symlink_to(science)  # a PNG name that leads to the science exposure
    panel = window.grid.panels["difference"]
    view = panel.plot.getViewBox()
    click(panel.graphics.viewport(), view_to_widget(panel.graphics, view, 20.5, 30.5), RIGHT)
    menu = {action.text(): action for action in view.menu.actions()}
    before = digests(folder)
    dialogs.save_paths.append(link)
    menu["Export PNG of this panel…"].trigger()
    assert digests(folder) == before
    assert dialogs.errors and "input" in dialogs.errors[-1][1]
    dialogs.save_paths.append(tmp_path / "fine.png")
    menu["Export PNG of this panel…"].trigger()
    assert (tmp_path / "fine.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not excepthook.errors
