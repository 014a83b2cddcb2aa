"""Operations, one family a module; each op's forward and derivative rule sit side by side."""
