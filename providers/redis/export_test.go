package atrredis

// EncodeVectorForTest exposes the stored form of a vector to the tests.
var EncodeVectorForTest = encodeVector
