// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.tls;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/** A throwaway CA for tests: issues real node certificates (CN and DNS SAN = node name). */
public final class TestCa {
    private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());
    public final KeyPair keys = Pki.newKeyPair();
    public final X509Certificate cert;

    public TestCa(String name) throws Exception {
        Instant now = Instant.now();
        X500Name dn = new X500Name("CN=" + name);
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(dn, BigInteger.valueOf(SERIAL.incrementAndGet()),
                Date.from(now.minusSeconds(60)), Date.from(now.plus(Duration.ofDays(1))), dn, keys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        cert = new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA")
                .build(keys.getPrivate())));
    }

    public X509Certificate issue(PublicKey pub, String node, Duration validity) throws Exception {
        Instant now = Instant.now();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                new X500Name(cert.getSubjectX500Principal().getName()),
                BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now.minusSeconds(60)),
                Date.from(now.plus(validity)),
                new X500Name("CN=" + node), pub);
        b.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName[]{new GeneralName(GeneralName.dNSName, node),
                        new GeneralName(GeneralName.dNSName, "localhost")}));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA")
                .build(keys.getPrivate())));
    }

    /** Signs a CSR, taking the CN from the given node name (as the operator does after checking the token). */
    public X509Certificate signCsr(String csrPem, String node, Duration validity) throws Exception {
        PublicKey pub = new JcaPKCS10CertificationRequest(Pki.parseCsr(csrPem)).getPublicKey();
        return issue(pub, node, validity);
    }

    public NodeTls node(String node) throws Exception {
        KeyPair kp = Pki.newKeyPair();
        return new NodeTls(kp.getPrivate(), issue(kp.getPublic(), node, Duration.ofHours(1)), List.of(cert));
    }
}
