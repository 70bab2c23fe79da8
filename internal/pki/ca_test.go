package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"
)

func TestCAIssuesVerifiableCerts(t *testing.T) {
	now := time.Now()
	certPEM, keyPEM, err := NewCA("test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.ServerCert([]string{"localhost", "127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(srv.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("server cert does not verify for 127.0.0.1: %v", err)
	}
	keyPEMc, pub, err := NewClientKey()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := ca.ClientCert("esx-01", pub, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(cc, keyPEMc); err != nil {
		t.Fatalf("client cert does not match its key: %v", err)
	}
	b, _ := pem.Decode(cc)
	c, _ := x509.ParseCertificate(b.Bytes)
	if c.Subject.CommonName != "esx-01" {
		t.Errorf("CN = %q", c.Subject.CommonName)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client cert does not verify: %v", err)
	}
	otherPEM, otherKey, _ := NewCA("other", now)
	other, _ := LoadCA(otherPEM, otherKey)
	if _, err := c.Verify(x509.VerifyOptions{Roots: other.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("client cert verified under another CA")
	}
	if _, err := LoadCA(cc, keyPEMc); err == nil {
		t.Error("LoadCA accepted a leaf certificate")
	}
}
