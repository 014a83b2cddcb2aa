"""mg.save / mg.load: state dicts as .npz plus a JSON manifest, never unpickling anything."""

__all__: list[str] = []
