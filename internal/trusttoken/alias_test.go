package trusttoken

import "crypto/ecdsa"

type ecdsaKey = ecdsa.PublicKey
