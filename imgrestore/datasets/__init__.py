"""``imgrestore data prepare``: the official data sets in the folder layouts the bundled
recipes read (:mod:`.prepare`), with the papers' patch extraction (:mod:`.patches`)."""

#: The data sets ``imgrestore data prepare`` knows.
KINDS = ("sidd", "gopro", "rain13k", "dpdd", "lol", "realsr")
