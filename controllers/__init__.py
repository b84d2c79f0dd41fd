from . import signing
from . import webhook
from . import verify
from . import portal
from . import places
from . import hosted
