# with_parents: each absolute path and every parent of it below "/", outermost first
# (/srv/smb/data -> /srv, /srv/smb, /srv/smb/data), as smbdirect's records of created directories
# count them (src/smb/created-dirs.ts).


def with_parents(paths):
    out = []
    for p in paths:
        parts = [x for x in p.split('/') if x]
        out.extend('/' + '/'.join(parts[:i + 1]) for i in range(len(parts)))
    return out


class FilterModule(object):
    def filters(self):
        return {'with_parents': with_parents}
