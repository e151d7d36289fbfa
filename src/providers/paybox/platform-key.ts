/** The Paybox / Verifone / Up2pay e-Transactions platform public key (RSA-1024), as shipped in the official
 * plugins; SHA-256 of its DER SubjectPublicKeyInfo: e3e24366a97653cb40f9ed2ee2b91fe6d8c28ee81d062ca1508c9e32abe141bb
 * (the `pubkey.pem` of the official Verifone PrestaShop and Magento plugins). It verifies paybox.com and e-transactions.fr signatures alike. */
export const PAYBOX_PLATFORM_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDe+hkicNP7ROHUssGNtHwiT2Ew
HFrSk/qwrcq8v5metRtTTFPE/nmzSkRnTs3GMpi57rBdxBBJW5W9cpNyGUh0jNXc
VrOSClpD5Ri2hER/GcNrxVRP7RlWOqB1C03q4QYmwjHZ+zlM4OUhCCAtSWflB4wC
Ka1g88CjFwRw/PB9kwIDAQAB
-----END PUBLIC KEY-----
`;
