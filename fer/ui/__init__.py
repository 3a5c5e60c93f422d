"""Drawing live results: a pure render function and the interactive OpenCV window."""

from fer.ui.render import RenderStyle, bar_percentages, panel_layout, render

__all__ = ["RenderStyle", "bar_percentages", "panel_layout", "render"]
