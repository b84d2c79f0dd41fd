# Pure-Python core of digital_sign: PDF intake, markers, stamping, sealing, OTP, phone
# numbers and e-signature provider clients. Nothing here imports odoo (a test checks it).
