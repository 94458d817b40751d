-- Regions drawn in the FITS viewer, one JSON region set per image, guarded by an optimistic
-- `version` so two tabs editing the same image cannot overwrite each other.
create table image_region (
    image text primary key,
    owner text not null,
    regions text not null,
    version bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);
