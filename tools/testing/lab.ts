// The lab (network namespaces, QEMU VMs) for the packages' integration tests. It is a published
// package of its own (`boottorrent lab` is built on it); tests take it through here so their
// package's dependency rules stay "protocol packages depend on type:testing only".
export * from '@boottorrent/lab';
