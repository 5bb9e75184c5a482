// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.security;

import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;

import javax.security.auth.x500.X500Principal;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * The operator's certificate authority: signs the operator's serving certificate and each agent's
 * short-lived node certificate. A node certificate carries the node name as CN and as DNS SAN, and
 * the organisation {@value #AGENT_ORG}; nothing else identifies a node.
 */
public final class CertificateAuthority {

    /** Organisation of every node certificate this CA signs. */
    public static final String AGENT_ORG = "edgerep-agent";

    private static final SecureRandom RANDOM = new SecureRandom();

    private final X509Certificate caCert;
    private final PrivateKey caKey;

    public CertificateAuthority(X509Certificate caCert, PrivateKey caKey) {
        this.caCert = caCert;
        this.caKey = caKey;
    }

    /** A new self-signed CA (EC P-256), valid ten years. */
    public static CertificateAuthority create(String commonName) {
        try {
            KeyPair kp = newKeyPair();
            Instant now = Instant.now();
            X500Name name = new X500Name("CN=" + commonName);
            var b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minus(Duration.ofMinutes(5))),
                    Date.from(now.plus(Duration.ofDays(3650))), name, kp.getPublic());
            var ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            return new CertificateAuthority(sign(b, kp.getPrivate()), kp.getPrivate());
        } catch (Exception e) {
            throw new IllegalStateException("cannot create the CA", e);
        }
    }

    public static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public X509Certificate caCertificate() {
        return caCert;
    }

    public PrivateKey caKey() {
        return caKey;
    }

    /** A serving certificate for the operator's gRPC endpoint. */
    public X509Certificate issueServer(PublicKey key, List<String> dnsNames, List<String> ips, Duration lifetime) {
        try {
            var b = leaf(new X500Name("CN=edgerep-operator"), key, lifetime);
            GeneralName[] names = new GeneralName[dnsNames.size() + ips.size()];
            int i = 0;
            for (String d : dnsNames) {
                names[i++] = new GeneralName(GeneralName.dNSName, d);
            }
            for (String ip : ips) {
                names[i++] = new GeneralName(GeneralName.iPAddress, ip);
            }
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            return sign(b, caKey);
        } catch (Exception e) {
            throw new IllegalStateException("cannot issue the server certificate", e);
        }
    }

    /**
     * Signs a node certificate for the key of a PKCS#10 request; the subject is set here (the
     * request's own subject is ignored), so a request cannot ask for another identity.
     *
     * @throws IllegalArgumentException when the request is malformed or its signature is wrong
     */
    public X509Certificate issueNode(String csrPem, String node, Duration lifetime) {
        PublicKey key = csrKey(csrPem);
        try {
            var b = leaf(new org.bouncycastle.asn1.x500.X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, AGENT_ORG)
                    .addRDN(BCStyle.CN, node).build(), key, lifetime);
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.dNSName, node)));
            b.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(
                            new KeyPurposeId[]{KeyPurposeId.id_kp_clientAuth, KeyPurposeId.id_kp_serverAuth}));
            return sign(b, caKey);
        } catch (Exception e) {
            throw new IllegalStateException("cannot issue a node certificate", e);
        }
    }

    /** The public key of a well-formed, correctly self-signed PKCS#10 request. */
    public static PublicKey csrKey(String csrPem) {
        try (PEMParser p = new PEMParser(new StringReader(csrPem == null ? "" : csrPem))) {
            Object o = p.readObject();
            if (!(o instanceof PKCS10CertificationRequest csr)) {
                throw new IllegalArgumentException("csr_pem is not a PEM certificate request");
            }
            var jcsr = new JcaPKCS10CertificationRequest(csr);
            if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(jcsr.getPublicKey()))) {
                throw new IllegalArgumentException("the certificate request's signature is invalid");
            }
            return jcsr.getPublicKey();
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalArgumentException("csr_pem cannot be read: " + e.getMessage());
        }
    }

    /**
     * The node a peer certificate (already verified against this CA by TLS) identifies: its DNS SAN,
     * which must equal its CN, in a certificate of organisation {@value #AGENT_ORG}.
     */
    public static Optional<String> nodeOf(X509Certificate cert) {
        try {
            X500Name subject = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
            String org = first(subject, BCStyle.O);
            String cn = first(subject, BCStyle.CN);
            if (!AGENT_ORG.equals(org) || cn == null || cert.getSubjectAlternativeNames() == null) {
                return Optional.empty();
            }
            for (List<?> san : cert.getSubjectAlternativeNames()) {
                if (Integer.valueOf(GeneralName.dNSName).equals(san.get(0)) && cn.equals(san.get(1))) {
                    return Optional.of(cn);
                }
            }
            return Optional.empty();
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    private static String first(X500Name name, ASN1ObjectIdentifier oid) {
        RDN[] rdns = name.getRDNs(oid);
        return rdns.length == 0 ? null : IETFUtils.valueToString(rdns[0].getFirst().getValue());
    }

    private JcaX509v3CertificateBuilder leaf(X500Name subject, PublicKey key, Duration lifetime) throws Exception {
        Instant now = Instant.now();
        var b = new JcaX509v3CertificateBuilder(caCert, serial(), Date.from(now.minus(Duration.ofMinutes(1))),
                Date.from(now.plus(lifetime)), new X500Principal(subject.getEncoded()), key);
        var ext = new JcaX509ExtensionUtils();
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
        return b;
    }

    private static X509Certificate sign(JcaX509v3CertificateBuilder b, PrivateKey key) throws Exception {
        // an RSA CA (e.g. one cert-manager made) signs with RSA; the operator's own CA is EC
        String alg = "RSA".equals(key.getAlgorithm()) ? "SHA256withRSA" : "SHA256withECDSA";
        ContentSigner signer = new JcaContentSignerBuilder(alg).build(key);
        X509CertificateHolder h = b.build(signer);
        return new JcaX509CertificateConverter().getCertificate(h);
    }

    private static BigInteger serial() {
        return new BigInteger(127, RANDOM);
    }

    public static String pem(Object o) {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(o);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return w.toString();
    }

    /** A private key as PKCS#8 PEM ("PRIVATE KEY"), which carries everything needed to read it back. */
    public static String pkcs8Pem(PrivateKey key) {
        return "-----BEGIN PRIVATE KEY-----\n"
                + java.util.Base64.getMimeEncoder(64, "\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
                        .encodeToString(key.getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
    }

    public static X509Certificate parseCert(String pem) {
        try (PEMParser p = new PEMParser(new StringReader(pem))) {
            return new JcaX509CertificateConverter().getCertificate((X509CertificateHolder) p.readObject());
        } catch (Exception e) {
            throw new IllegalArgumentException("not a PEM certificate: " + e.getMessage());
        }
    }

    public static PrivateKey parseKey(String pem) {
        try (PEMParser p = new PEMParser(new StringReader(pem))) {
            Object o = p.readObject();
            var conv = new JcaPEMKeyConverter();
            if (o instanceof PEMKeyPair kp) {
                return conv.getKeyPair(kp).getPrivate();
            }
            if (o instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo pki) {
                return conv.getPrivateKey(pki);
            }
            throw new IllegalArgumentException("unsupported key format " + o);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalArgumentException("not a PEM private key: " + e.getMessage());
        }
    }
}
