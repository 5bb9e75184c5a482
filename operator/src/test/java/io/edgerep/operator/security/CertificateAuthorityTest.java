// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringWriter;
import java.security.KeyPair;
import java.time.Duration;

import javax.security.auth.x500.X500Principal;

import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;

class CertificateAuthorityTest {

    static String csr(KeyPair kp, String subject) throws Exception {
        var csr = new JcaPKCS10CertificationRequestBuilder(new X500Principal(subject), kp.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate()));
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(csr);
        }
        return w.toString();
    }

    @Test
    void nodeCertificateCarriesOnlyTheNodeTheOperatorChose() throws Exception {
        var ca = CertificateAuthority.create("test");
        KeyPair kp = CertificateAuthority.newKeyPair();
        // the request asks for another identity; the CA ignores the request's subject
        var cert = ca.issueNode(csr(kp, "O=edgerep-agent,CN=n9"), "n1", Duration.ofMinutes(10));
        cert.verify(ca.caCertificate().getPublicKey());
        assertThat(CertificateAuthority.nodeOf(cert)).contains("n1");
        assertThat(cert.getPublicKey()).isEqualTo(kp.getPublic());
        assertThat(cert.getNotAfter().getTime() - System.currentTimeMillis()).isLessThanOrEqualTo(600_000);
    }

    @Test
    void serverCertificateIsNoNodeIdentity() {
        var ca = CertificateAuthority.create("test");
        var cert = ca.issueServer(CertificateAuthority.newKeyPair().getPublic(), java.util.List.of("n1"),
                java.util.List.of("127.0.0.1"), Duration.ofDays(1));
        assertThat(CertificateAuthority.nodeOf(cert)).isEmpty();
    }

    @Test
    void caSurvivesPemRoundTrip() throws Exception {
        var ca = CertificateAuthority.create("test");
        var again = new CertificateAuthority(
                CertificateAuthority.parseCert(CertificateAuthority.pem(ca.caCertificate())),
                CertificateAuthority.parseKey(CertificateAuthority.pkcs8Pem(ca.caKey())));
        var cert = again.issueNode(csr(CertificateAuthority.newKeyPair(), "CN=x"), "n2", Duration.ofMinutes(1));
        cert.verify(ca.caCertificate().getPublicKey());
    }

    @Test
    void userProvidedRsaCaSigns() throws Exception {
        var g = java.security.KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair rsa = g.generateKeyPair();
        var name = new org.bouncycastle.asn1.x500.X500Name("CN=cert-manager-ca");
        var now = java.time.Instant.now();
        var b = new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(name, java.math.BigInteger.ONE,
                java.util.Date.from(now.minusSeconds(60)), java.util.Date.from(now.plusSeconds(3600)), name,
                rsa.getPublic());
        b.addExtension(org.bouncycastle.asn1.x509.Extension.basicConstraints, true,
                new org.bouncycastle.asn1.x509.BasicConstraints(true));
        var caCert = new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withRSA").build(rsa.getPrivate())));
        // as stored in a kubernetes.io/tls Secret (PKCS#1 "RSA PRIVATE KEY")
        var ca = new CertificateAuthority(CertificateAuthority.parseCert(CertificateAuthority.pem(caCert)),
                CertificateAuthority.parseKey(CertificateAuthority.pem(rsa.getPrivate())));
        var cert = ca.issueNode(csr(CertificateAuthority.newKeyPair(), "CN=x"), "n3", Duration.ofMinutes(5));
        cert.verify(rsa.getPublic());
        assertThat(CertificateAuthority.nodeOf(cert)).contains("n3");
    }

    @Test
    void forgedOrMalformedRequestsAreRefused() throws Exception {
        var ca = CertificateAuthority.create("test");
        assertThatThrownBy(() -> ca.issueNode("junk", "n1", Duration.ofMinutes(1)))
                .isInstanceOf(IllegalArgumentException.class);
        // a request signed with a key other than the one it names
        KeyPair a = CertificateAuthority.newKeyPair();
        KeyPair b = CertificateAuthority.newKeyPair();
        var forged = new JcaPKCS10CertificationRequestBuilder(new X500Principal("CN=x"), a.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(b.getPrivate()));
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(forged);
        }
        assertThatThrownBy(() -> ca.issueNode(w.toString(), "n1", Duration.ofMinutes(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("signature");
    }
}
