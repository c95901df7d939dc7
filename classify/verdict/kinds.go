package verdict

// Kinds returns every finding kind this package produces, in the order
// reports list them: what the catalog's flows showed (blocked, missing,
// wrong-direction, unexpected), media, TLS posture, names, and last the
// entries the auditor cannot see. Each call returns a new slice.
func Kinds() []Kind {
	return []Kind{
		KindBlocked, KindMissing, KindWrongDirection, KindUnexpected,
		KindUnexpectedMedia, KindMediaMissing, KindMediaOneWay, KindPoorVoiceQuality, KindMediaOutsideRange,
		KindTLSTooOld, KindPlaintextOnTLSPort, KindNotTLSOnHTTPSPort, KindSNINotInCatalog,
		KindDNSFailure, KindUnobservable,
	}
}
