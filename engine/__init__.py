# Pure-Python core of digital_sign: PDF intake, markers, stamping, sealing, OTP codes and
# e-signature provider clients. Nothing here imports odoo (a test checks it).
