// No WebRTC: BootTorrent peers talk TCP on the LAN. webtorrent checks these for undefined.
export const RTCPeerConnection = undefined;
export const RTCSessionDescription = undefined;
export const RTCIceCandidate = undefined;
export default {};
