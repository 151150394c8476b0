//! Typed access registers (ACCESS_REG) and capability pages (QUERY_HCA_CAP / SET_HCA_CAP).

use zerocopy::IntoBytes;

use crate::command::{AccessRegister, CapabilityPage, Command};
use crate::host::{Clock, DmaMemory, Mmio};
use crate::prm::{
    AccessReg, AccessRegOpMod, AccessRegisterIn, AccessRegisterOut, HcaCapUnion, QueryHcaCap, QueryHcaCapIn,
    QueryHcaCapOut, SetHcaCap, SetHcaCapIn,
};

use super::error::Error;
use super::hca::query_cap_op_mod;
use super::queue::{Cmdq, Options};

impl<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory> Cmdq<M, C, Q, P> {
    /// Reads access register `R`: `index` carries the fields that select the instance (port, sensor,
    /// module page, ...); the register's current contents come back.
    ///
    /// # Errors
    /// As [`Cmdq::execute`]; firmware answers [`Error::Firmware`] for registers or indexes it lacks.
    pub fn read_register<R: AccessRegister>(&mut self, index: &R, argument: u32) -> Result<R, Error> {
        self.access_register(index, argument, AccessRegOpMod::READ)
    }

    /// Writes access register `R` and returns what firmware reports back.
    ///
    /// # Errors
    /// As [`Cmdq::read_register`].
    pub fn write_register<R: AccessRegister>(&mut self, value: &R, argument: u32) -> Result<R, Error> {
        self.access_register(value, argument, AccessRegOpMod::WRITE)
    }

    fn access_register<R: AccessRegister>(
        &mut self,
        data: &R,
        argument: u32,
        op_mod: AccessRegOpMod,
    ) -> Result<R, Error> {
        let input = AccessRegisterIn::new().with_op_mod(op_mod.0).with_register_id(R::ID).with_argument(argument);
        let mut out = AccessRegisterOut::new();
        let mut reg = R::new_zeroed();
        self.execute_typed::<AccessReg>(&input, data.as_bytes(), &mut out, reg.as_mut_bytes(), Options::default())?;
        Ok(reg)
    }

    /// Queries capability page `T`: its maximum values (`current == false`) or the values in force.
    ///
    /// # Errors
    /// As [`Cmdq::execute`].
    pub fn query_cap<T: CapabilityPage>(&mut self, current: bool) -> Result<T, Error> {
        let out = self.query_cap_raw(T::CAP_TYPE, current)?;
        let mut page = T::new_zeroed();
        let dst = page.as_mut_bytes();
        let n = dst.len();
        if let Some(src) = out.capability().as_bytes().get(..n) {
            dst.copy_from_slice(src);
        }
        Ok(page)
    }

    /// Queries any capability page by cap type, as the whole 4 KiB union.
    ///
    /// # Errors
    /// As [`Cmdq::execute`].
    pub fn query_cap_raw(&mut self, cap_type: u16, current: bool) -> Result<QueryHcaCapOut, Error> {
        self.execute::<QueryHcaCap>(&QueryHcaCapIn::new().with_op_mod(query_cap_op_mod(cap_type, current)))
    }

    /// Sets capability page `T` (SET_HCA_CAP, op_mod = cap type << 1).
    ///
    /// # Errors
    /// As [`Cmdq::execute`].
    pub fn set_cap<T: CapabilityPage>(&mut self, page: &T) -> Result<(), Error> {
        let mut input = SetHcaCapIn::new().with_op_mod(query_cap_op_mod(T::CAP_TYPE, false));
        let mut cap = HcaCapUnion::new();
        if let Some(dst) = cap.as_mut_bytes().get_mut(..T::SIZE) {
            dst.copy_from_slice(page.as_bytes());
        }
        input.set_capability(&cap);
        self.execute::<SetHcaCap>(&input)?;
        Ok(())
    }
}

const _: () = assert!(<AccessReg as Command>::OPCODE == 0x805);
