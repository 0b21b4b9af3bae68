from interop.dci.admin import *  # noqa
