from interop.dci.admin import *  # noqa
from interop.crvs.admin import *  # noqa
