# Downloads of public inputs (retries, time-out, atomic, checksums in resources/checksums.tsv),
# and the genome prepared for random access (decompressed FASTA with a pyfaidx index).


# Downloads run on the submitting host under a cluster executor (localrule).
rule download:
    input:
        # a local source is an input, so that editing it reruns what depends on it
        lambda wc: list(filter(None, [local_path(SOURCES[wc.file])])),
    output:
        "resources/downloads/{file}",
    log:
        "logs/download/{file}.log",
    localrule: True
    conda:
        ENV
    params:
        url=lambda wc: SOURCES[wc.file],
        sha256=lambda wc: SHA256.get(SOURCES[wc.file]),
        ledger=CHECKSUMS,
    script:
        "../scripts/download.py"


rule prepare_genome:
    input:
        lambda wc: source_file(config["genomes"][wc.genome]),
    output:
        fasta="resources/genome/{genome}.fa",
        fai="resources/genome/{genome}.fa.fai",
    log:
        "logs/prepare_genome/{genome}.log",
    conda:
        ENV
    script:
        "../scripts/prepare_genome.py"
