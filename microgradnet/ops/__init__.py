"""Operations, one family a module; each op's forward and derivative rule sit side by side."""

__all__: list[str] = []
