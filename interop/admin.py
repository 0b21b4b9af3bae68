from interop.crvs.admin import *  # noqa
