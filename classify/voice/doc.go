// Package voice rates how a call sounded from what a passive tap can
// measure of its media: the ITU-T G.107 E-model turns the codec, the
// packet loss (and how bursty it was) and the one-way delay into a
// transmission rating R and an estimated MOS (mean opinion score,
// conversational quality, 1 to 4.5).
//
// Everything the E-model needs but a tap cannot see (loudness ratings,
// room noise, sidetone, echo loss) keeps G.107's default values, which
// are the values of a well-designed handset connection. With those
// defaults and no impairment, G.711 rates R = 93.2, MOS 4.41: the
// published reference point of the model.
//
// A narrowband MOS scale cannot show the advantage of a wideband codec
// (G.722, Opus); the wideband E-model of G.107.1 rates on a 0-129 scale
// instead. Contact-center teams read MOS on the narrowband scale, so
// wideband codecs are rated on it too, with the codec impairment of the
// best narrowband codec (Ie = 0): a clean G.722 call reads 4.41 like a
// clean G.711 one, and loss lowers it according to the codec's own
// packet-loss robustness. docs/voice-quality.md lists every constant and
// where it comes from.
package voice
